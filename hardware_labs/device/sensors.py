"""Sensor drivers and the KS1 line encoder for the kit, shared by Raspberry Pi OS and MicroPython.

This file runs unchanged on CPython (Raspberry Pi) and on MicroPython (Pi
Pico), so it uses no type hints, dataclasses or ``int.from_bytes(signed=...)``.

Hardware access goes through two small bus interfaces:

- I2C bus: ``read(address, register, length) -> bytes`` and
  ``write(address, register, data: bytes)``.
- SPI device: ``transfer(data: bytes) -> bytes`` (full duplex, chip select
  handled by the bus).

The Raspberry Pi adapters (smbus2, spidev) are in pi_node.py, the Pico
adapter in pico/main.py and chip simulations for tests in fake_chips.py.
"""

KS1_TAG = "KS1"


def crc16(data):
    """Return the CRC-16/CCITT-FALSE of *data* (polynomial 0x1021, initial value 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def encode_line(device_id, sequence, uptime_ms, sensor, fields):
    """Encode one KS1 line; *fields* is a list of (name, value, unit). Returns bytes ending in CR LF."""
    parts = [KS1_TAG, device_id, str(sequence), str(uptime_ms), sensor]
    for name, value, unit in fields:
        parts.append("{}={:.6g}:{}".format(name, value, unit))
    body = ",".join(parts).encode()
    return b"$" + body + b"*" + "{:04X}".format(crc16(body)).encode() + b"\r\n"


def _s16(value):
    return value - 0x10000 if value & 0x8000 else value


def _u16_le(data, index):
    return data[index] | (data[index + 1] << 8)


class BME280:
    """Bosch BME280 temperature, humidity and pressure sensor on I2C (address 0x76 or 0x77).

    Compensation uses the integer formulas of the Bosch BME280 datasheet
    (section 4.2.3): temperature in 0.01 degC, pressure in Pa/256 (64-bit
    version), humidity in %RH/1024.
    """

    CHIP_ID = 0x60
    REG_CHIP_ID = 0xD0
    REG_RESET = 0xE0
    REG_CTRL_HUM = 0xF2
    REG_STATUS = 0xF3
    REG_CTRL_MEAS = 0xF4
    REG_CONFIG = 0xF5
    REG_DATA = 0xF7

    def __init__(self, bus, address=0x76):
        self.bus = bus
        self.address = address
        chip_id = bus.read(address, self.REG_CHIP_ID, 1)[0]
        if chip_id != self.CHIP_ID:
            raise OSError("no BME280 at 0x{:02X}: chip id 0x{:02X}, expected 0x60".format(address, chip_id))
        self._read_calibration()
        # Humidity oversampling x1 first: ctrl_hum takes effect only after a write to ctrl_meas.
        bus.write(address, self.REG_CTRL_HUM, bytes([0x01]))
        bus.write(address, self.REG_CONFIG, bytes([0x00]))

    def _read_calibration(self):
        block = self.bus.read(self.address, 0x88, 26)
        self.dig_t1 = _u16_le(block, 0)
        self.dig_t2 = _s16(_u16_le(block, 2))
        self.dig_t3 = _s16(_u16_le(block, 4))
        self.dig_p1 = _u16_le(block, 6)
        self.dig_p = [_s16(_u16_le(block, 8 + 2 * i)) for i in range(8)]  # dig_P2 .. dig_P9
        self.dig_h1 = block[25]
        humidity = self.bus.read(self.address, 0xE1, 7)
        self.dig_h2 = _s16(_u16_le(humidity, 0))
        self.dig_h3 = humidity[2]
        h4 = (humidity[3] << 4) | (humidity[4] & 0x0F)
        h5 = (humidity[5] << 4) | (humidity[4] >> 4)
        self.dig_h4 = h4 - 0x1000 if h4 & 0x800 else h4
        self.dig_h5 = h5 - 0x1000 if h5 & 0x800 else h5
        self.dig_h6 = humidity[6] - 0x100 if humidity[6] & 0x80 else humidity[6]

    def read_raw(self):
        """Start one forced-mode measurement and return (adc_T, adc_P, adc_H)."""
        # Forced mode, temperature and pressure oversampling x1.
        self.bus.write(self.address, self.REG_CTRL_MEAS, bytes([(1 << 5) | (1 << 2) | 0x01]))
        for _ in range(100):
            if not self.bus.read(self.address, self.REG_STATUS, 1)[0] & 0x08:
                break
        data = self.bus.read(self.address, self.REG_DATA, 8)
        adc_p = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4)
        adc_t = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4)
        adc_h = (data[6] << 8) | data[7]
        return adc_t, adc_p, adc_h

    def compensate(self, adc_t, adc_p, adc_h):
        """Return (temperature degC, pressure hPa, humidity %RH) from raw ADC values."""
        var1 = (((adc_t >> 3) - (self.dig_t1 << 1)) * self.dig_t2) >> 11
        var2 = (((((adc_t >> 4) - self.dig_t1) * ((adc_t >> 4) - self.dig_t1)) >> 12) * self.dig_t3) >> 14
        t_fine = var1 + var2
        temperature = ((t_fine * 5 + 128) >> 8) / 100.0

        p2, p3, p4, p5, p6, p7, p8, p9 = self.dig_p
        var1 = t_fine - 128000
        var2 = var1 * var1 * p6
        var2 = var2 + ((var1 * p5) << 17)
        var2 = var2 + (p4 << 35)
        var1 = ((var1 * var1 * p3) >> 8) + ((var1 * p2) << 12)
        var1 = (((1 << 47) + var1) * self.dig_p1) >> 33
        if var1 == 0:
            pressure = 0.0
        else:
            p = 1048576 - adc_p
            p = (((p << 31) - var2) * 3125) // var1
            var1 = (p9 * (p >> 13) * (p >> 13)) >> 25
            var2 = (p8 * p) >> 19
            p = ((p + var1 + var2) >> 8) + (p7 << 4)
            pressure = p / 256.0 / 100.0

        v = t_fine - 76800
        v = ((((adc_h << 14) - (self.dig_h4 << 20) - (self.dig_h5 * v)) + 16384) >> 15) * (
            ((((((v * self.dig_h6) >> 10) * (((v * self.dig_h3) >> 11) + 32768)) >> 10) + 2097152) * self.dig_h2 + 8192)
            >> 14
        )
        v = v - (((((v >> 15) * (v >> 15)) >> 7) * self.dig_h1) >> 4)
        v = min(max(v, 0), 419430400)
        humidity = (v >> 12) / 1024.0
        return temperature, pressure, humidity

    def read(self):
        """Measure once and return KS1 fields: temperature, humidity, pressure."""
        temperature, pressure, humidity = self.compensate(*self.read_raw())
        return [
            ("temperature", round(temperature, 2), "degC"),
            ("humidity", round(humidity, 2), "%RH"),
            ("pressure", round(pressure, 2), "hPa"),
        ]


class MPU6050:
    """InvenSense MPU6050 accelerometer on I2C (address 0x68), range +-2 g (16384 LSB/g)."""

    REG_ACCEL_CONFIG = 0x1C
    REG_ACCEL_XOUT_H = 0x3B
    REG_PWR_MGMT_1 = 0x6B
    REG_WHO_AM_I = 0x75
    LSB_PER_G = 16384.0

    def __init__(self, bus, address=0x68):
        self.bus = bus
        self.address = address
        who_am_i = bus.read(address, self.REG_WHO_AM_I, 1)[0]
        if who_am_i != 0x68:
            raise OSError("no MPU6050 at 0x{:02X}: WHO_AM_I 0x{:02X}, expected 0x68".format(address, who_am_i))
        # The chip starts in sleep mode; clear SLEEP and use the X gyro PLL as clock.
        bus.write(address, self.REG_PWR_MGMT_1, bytes([0x01]))
        bus.write(address, self.REG_ACCEL_CONFIG, bytes([0x00]))

    def read_g(self):
        """Return (ax, ay, az) in g."""
        data = self.bus.read(self.address, self.REG_ACCEL_XOUT_H, 6)
        return tuple(_s16((data[i] << 8) | data[i + 1]) / self.LSB_PER_G for i in (0, 2, 4))

    def read(self):
        """Return KS1 fields ax, ay, az in g."""
        ax, ay, az = self.read_g()
        return [("ax", round(ax, 4), "g"), ("ay", round(ay, 4), "g"), ("az", round(az, 4), "g")]


class MCP3008:
    """Microchip MCP3008 10-bit ADC on SPI, with a current-transformer clamp on one channel.

    The clamp (a voltage-output CT such as the SCT-013-030: 30 A gives 1 V
    RMS) sits on a bias of half the reference voltage. The RMS current is the
    RMS of the samples after removing their mean, times *amps_per_volt*.
    Sampling lasts *window_s* seconds. The default 0.1 s is a whole number of
    mains cycles at both 50 Hz and 60 Hz, so the result does not depend on
    where sampling starts.
    *clock* returns seconds (``time.monotonic`` on Raspberry Pi OS).
    """

    def __init__(self, spi, clock, channel=0, vref=3.3, amps_per_volt=30.0, window_s=0.1):
        if not 0 <= channel <= 7:
            raise ValueError("channel {} must be 0..7".format(channel))
        self.spi = spi
        self.clock = clock
        self.channel = channel
        self.vref = vref
        self.amps_per_volt = amps_per_volt
        self.window_s = window_s

    def read_channel(self, channel):
        """Return the 10-bit conversion (0..1023) of single-ended *channel*."""
        reply = self.spi.transfer(bytes([0x01, (0x08 | channel) << 4, 0x00]))
        return ((reply[1] & 0x03) << 8) | reply[2]

    def read_current_rms(self):
        """Sample the clamp channel for one window and return the RMS current in A."""
        volts = []
        start = self.clock()
        while self.clock() - start < self.window_s:
            volts.append(self.read_channel(self.channel) * self.vref / 1023.0)
        if len(volts) < 2:
            raise OSError("MCP3008 returned {} sample(s) in {} s".format(len(volts), self.window_s))
        mean = sum(volts) / len(volts)
        square = sum((v - mean) ** 2 for v in volts) / len(volts)
        return square**0.5 * self.amps_per_volt

    def read(self):
        """Return the KS1 field current in A."""
        return [("current", round(self.read_current_rms(), 3), "A")]
