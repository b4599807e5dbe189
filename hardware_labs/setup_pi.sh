#!/usr/bin/env bash
# Prepare a Raspberry Pi OS Bookworm kit for the kenshu hardware labs.
#
# Run once as the trainee's user, with sudo:   sudo bash setup_pi.sh
#
# Steps (each is safe to run again):
#   1. Debian packages: Python venv support, I2C tools, Mosquitto broker and clients.
#   2. I2C, SPI and the UART switched on with raspi-config's non-interactive mode,
#      and the serial login console switched off so the UART is free for sensors.
#   3. The user joins the dialout, i2c, spi and gpio groups (serial and bus access without sudo).
#   4. A virtual environment ~/kenshu-venv with pyserial, paho-mqtt 2.x, smbus2 and spidev.
#      Bookworm refuses "pip install" into the system Python (PEP 668), hence the venv.
#   5. Mosquitto listening only on 127.0.0.1 and this Pi's address on the local network,
#      with anonymous access off and one user "kenshu" whose password is in
#      ~/kenshu-mqtt-password (mode 600). Set KENSHU_MQTT_PASSWORD to choose it.
#
# Options (environment variables):
#   KENSHU_USER           user to set up (default: the user who ran sudo)
#   KENSHU_MQTT_PASSWORD  password for the MQTT user "kenshu" (default: random)
#   KENSHU_LAN_ADDRESS    address Mosquitto listens on besides 127.0.0.1 (default: from "hostname -I")
#   KENSHU_SKIP_RASPI_CONFIG=1   skip step 2 (for a Debian machine that is not a Pi)
#
# A reboot is needed afterwards for the groups and the interfaces to take effect.

set -euo pipefail

if [[ ${EUID} -ne 0 ]]; then
    echo "Run with sudo: sudo bash $0" >&2
    exit 1
fi

TARGET_USER="${KENSHU_USER:-${SUDO_USER:-}}"
if [[ -z "${TARGET_USER}" || "${TARGET_USER}" == "root" ]]; then
    echo "Set KENSHU_USER to the trainee's user name, or run this script with sudo from that user." >&2
    exit 1
fi
TARGET_HOME="$(getent passwd "${TARGET_USER}" | cut -d: -f6)"
VENV="${TARGET_HOME}/kenshu-venv"
PASSWORD_FILE="${TARGET_HOME}/kenshu-mqtt-password"
MOSQUITTO_CONF=/etc/mosquitto/conf.d/kenshu.conf
MOSQUITTO_PASSWD=/etc/mosquitto/kenshu.passwd

echo "== 1. Debian packages"
apt-get update
apt-get install -y python3-venv python3-dev i2c-tools mosquitto mosquitto-clients

echo "== 2. I2C, SPI and UART"
if [[ "${KENSHU_SKIP_RASPI_CONFIG:-0}" != "1" ]]; then
    raspi-config nonint do_i2c 0
    raspi-config nonint do_spi 0
    # Bookworm's raspi-config splits the serial setting into the hardware UART and the login console.
    if raspi-config nonint do_serial_hw 0 2>/dev/null; then
        raspi-config nonint do_serial_cons 1
    else
        raspi-config nonint do_serial 2
    fi
fi

echo "== 3. Groups for ${TARGET_USER}"
for group in dialout i2c spi gpio; do
    if getent group "${group}" >/dev/null; then
        usermod -aG "${group}" "${TARGET_USER}"
    fi
done

echo "== 4. Virtual environment ${VENV}"
sudo -u "${TARGET_USER}" python3 -m venv "${VENV}"
sudo -u "${TARGET_USER}" "${VENV}/bin/pip" install --upgrade pip
sudo -u "${TARGET_USER}" "${VENV}/bin/pip" install "pyserial>=3.5" "paho-mqtt>=2.1,<3" smbus2 spidev

echo "== 5. Mosquitto with a password, on the local network only"
LAN_ADDRESS="${KENSHU_LAN_ADDRESS:-$(hostname -I | awk '{print $1}')}"
if [[ -z "${LAN_ADDRESS}" ]]; then
    echo "No network address found; Mosquitto will listen on 127.0.0.1 only." >&2
fi
if [[ ! -s "${PASSWORD_FILE}" ]]; then
    PASSWORD="${KENSHU_MQTT_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}"
    install -m 600 -o "${TARGET_USER}" /dev/null "${PASSWORD_FILE}"
    printf '%s\n' "${PASSWORD}" >"${PASSWORD_FILE}"
fi
PASSWORD="$(head -n 1 "${PASSWORD_FILE}")"
install -m 640 -o root -g mosquitto /dev/null "${MOSQUITTO_PASSWD}"
mosquitto_passwd -b "${MOSQUITTO_PASSWD}" kenshu "${PASSWORD}"

{
    echo "# Written by kenshu setup_pi.sh: password required, local network only."
    echo "per_listener_settings false"
    echo "allow_anonymous false"
    echo "password_file ${MOSQUITTO_PASSWD}"
    echo "listener 1883 127.0.0.1"
    if [[ -n "${LAN_ADDRESS}" ]]; then
        echo "listener 1883 ${LAN_ADDRESS}"
    fi
} >"${MOSQUITTO_CONF}"
systemctl enable mosquitto
systemctl restart mosquitto

echo
echo "Done. Reboot now (sudo reboot) so that the groups and the I2C/SPI/UART settings take effect."
echo "MQTT broker: mqtt://${LAN_ADDRESS:-127.0.0.1}:1883, user kenshu, password in ${PASSWORD_FILE}"
echo "Try after the reboot:  i2cdetect -y 1   (BME280 at 76, MPU6050 at 68)"
