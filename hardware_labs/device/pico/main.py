"""MicroPython sensor node for a Raspberry Pi Pico: BME280 and MPU6050 on I2C0, KS1 lines over USB serial.

Copy this file and ../sensors.py to the Pico (for example with
``mpremote cp sensors.py :sensors.py`` and ``mpremote cp pico/main.py :main.py``);
it starts at power-on. Wiring: SDA GP4, SCL GP5, 3V3 and GND. The Pico's
USB port appears on the Pi or laptop as /dev/ttyACM0.

A current clamp can go on the Pico's own ADC (GP26, 12-bit reading scaled
to 16 bits by ``read_u16``) instead of an MCP3008; see PicoADC.
"""

import sys
import time

from sensors import BME280, MPU6050, encode_line

DEVICE_ID = "pico-01"
RATES = {"env": 1.0, "vibration": 100.0}


class PicoI2C:
    """The sensors.py I2C interface over machine.I2C."""

    def __init__(self, i2c):
        self.i2c = i2c

    def read(self, address, register, length):
        return self.i2c.readfrom_mem(address, register, length)

    def write(self, address, register, data):
        self.i2c.writeto_mem(address, register, data)


class PicoADC:
    """A CT clamp on the Pico's ADC: RMS current over 0.1 s (whole mains cycles at 50 and 60 Hz)."""

    def __init__(self, adc, amps_per_volt=30.0, vref=3.3):
        self.adc = adc
        self.amps_per_volt = amps_per_volt
        self.vref = vref

    def read(self):
        volts = []
        start = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), start) < 100:
            volts.append(self.adc.read_u16() * self.vref / 65535)
        mean = sum(volts) / len(volts)
        rms = (sum((v - mean) ** 2 for v in volts) / len(volts)) ** 0.5
        return [("current", round(rms * self.amps_per_volt, 3), "A")]


def run(drivers, write, ticks_ms, sleep_ms, count=None, device_id=DEVICE_ID, rates=RATES):
    """Read each sensor at its rate and *write* one KS1 line per reading; return lines written."""
    boot = ticks_ms()
    periods = {name: int(1000 / rates[name]) for name in drivers}
    next_due = {name: 0 for name in drivers}
    sequence = 0
    while count is None or sequence < count:
        now = ticks_ms() - boot
        name = min(next_due, key=lambda key: next_due[key])
        if next_due[name] > now:
            sleep_ms(next_due[name] - now)
            now = next_due[name]
        try:
            fields = drivers[name].read()
        except OSError:
            next_due[name] += periods[name]
            continue
        write(encode_line(device_id, sequence, now, name, fields))
        sequence += 1
        next_due[name] += periods[name]
    return sequence


def main():
    from machine import I2C, Pin

    bus = PicoI2C(I2C(0, sda=Pin(4), scl=Pin(5), freq=400000))
    drivers = {"env": BME280(bus, 0x76), "vibration": MPU6050(bus, 0x68)}
    run(drivers, sys.stdout.buffer.write if hasattr(sys.stdout, "buffer") else sys.stdout.write,
        time.ticks_ms, time.sleep_ms)


if __name__ == "__main__":
    main()
