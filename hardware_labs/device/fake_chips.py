"""Chip simulations behind the same bus interfaces as the real hardware, for tests and laptops.

`FakeI2CBus` contains register maps of a BME280 and an MPU6050 and answers
reads and writes as the chips do (reset values, sleep mode, the latch of the
BME280 humidity setting). `FakeSPI` answers MCP3008 conversion requests from
a voltage waveform on a virtual clock. `pi_node.py --fake` uses them, so the
device program runs with no hardware.
"""

from __future__ import annotations

import errno
import math
import random
from collections.abc import Callable

# Calibration words of the worked example in the Bosch Sensortec BMP280
# datasheet (section 3.12, "compensation formula" example); the BME280 uses
# the same temperature and pressure formulas. The humidity words are typical
# values read from a BME280 module.
EXAMPLE_CALIBRATION = {
    "T": (27504, 26435, -1000),
    "P": (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000),
    "H": (75, 362, 0, 313, 50, 30),
}


def _le16(value: int) -> list[int]:
    value &= 0xFFFF
    return [value & 0xFF, value >> 8]


class FakeBME280:
    """Register map of a BME280 whose conditions are set with `set_conditions` or `set_raw`."""

    def __init__(self, calibration: dict | None = None) -> None:
        self.calibration = calibration or EXAMPLE_CALIBRATION
        self.registers = bytearray(256)
        self.registers[0xD0] = 0x60
        t, p, h = self.calibration["T"], self.calibration["P"], self.calibration["H"]
        block = _le16(t[0]) + _le16(t[1]) + _le16(t[2])
        for word in p:
            block += _le16(word)
        self.registers[0x88 : 0x88 + len(block)] = bytes(block)
        self.registers[0xA1] = h[0]
        h4, h5 = h[3] & 0xFFF, h[4] & 0xFFF
        self.registers[0xE1:0xE8] = bytes(
            _le16(h[1]) + [h[2], h4 >> 4, (h4 & 0x0F) | ((h5 & 0x0F) << 4), h5 >> 4, h[5] & 0xFF]
        )
        self._humidity_oversampling = 0
        self.raw = (0x80000, 0x80000, 0x8000)  # the chip's reset values of the data registers
        self.measurements = 0

    def set_raw(self, adc_t: int, adc_p: int, adc_h: int) -> None:
        """Set the raw ADC values the next measurement returns."""
        self.raw = (adc_t, adc_p, adc_h)

    def set_conditions(self, temperature: float, pressure_hpa: float, humidity: float) -> None:
        """Set raw values that the datasheet's floating-point formulas turn into these conditions."""
        adc_t = _bisect(lambda adc: self._float_temperature(adc)[0], temperature, 0, 1 << 20)
        t_fine = self._float_temperature(adc_t)[1]
        adc_p = _bisect(lambda adc: -self._float_pressure(adc, t_fine), -pressure_hpa * 100, 0, 1 << 20)
        adc_h = _bisect(lambda adc: self._float_humidity(adc, t_fine), humidity, 0, 1 << 16)
        self.set_raw(adc_t, adc_p, adc_h)

    # Floating-point compensation (datasheet section 8.1), written apart from
    # the integer driver code so that each checks the other.
    def _float_temperature(self, adc: int) -> tuple[float, float]:
        t1, t2, t3 = self.calibration["T"]
        var1 = (adc / 16384.0 - t1 / 1024.0) * t2
        var2 = (adc / 131072.0 - t1 / 8192.0) ** 2 * t3
        return (var1 + var2) / 5120.0, var1 + var2

    def _float_pressure(self, adc: int, t_fine: float) -> float:
        p1, p2, p3, p4, p5, p6, p7, p8, p9 = self.calibration["P"]
        var1 = t_fine / 2.0 - 64000.0
        var2 = var1 * var1 * p6 / 32768.0 + var1 * p5 * 2.0
        var2 = var2 / 4.0 + p4 * 65536.0
        var1 = (p3 * var1 * var1 / 524288.0 + p2 * var1) / 524288.0
        var1 = (1.0 + var1 / 32768.0) * p1
        pressure = (1048576.0 - adc - var2 / 4096.0) * 6250.0 / var1
        return pressure + (p9 * pressure * pressure / 2147483648.0 + pressure * p8 / 32768.0 + p7) / 16.0

    def _float_humidity(self, adc: int, t_fine: float) -> float:
        h1, h2, h3, h4, h5, h6 = self.calibration["H"]
        var = t_fine - 76800.0
        var = (adc - (h4 * 64.0 + h5 / 16384.0 * var)) * (
            h2 / 65536.0 * (1.0 + h6 / 67108864.0 * var * (1.0 + h3 / 67108864.0 * var))
        )
        return var * (1.0 - h1 * var / 524288.0)

    def write(self, register: int, data: bytes) -> None:
        for offset, value in enumerate(data):
            self._write_one(register + offset, value)

    def _write_one(self, register: int, value: int) -> None:
        if register == 0xE0 and value == 0xB6:
            self.__init__(self.calibration)
            return
        self.registers[register] = value
        if register == 0xF4:
            # ctrl_hum is latched only now, and a measurement runs when the mode bits are not sleep.
            self._humidity_oversampling = self.registers[0xF2] & 0x07
            if value & 0x03:
                self._measure()

    def _measure(self) -> None:
        adc_t, adc_p, adc_h = self.raw
        if not self.registers[0xF4] >> 5:
            adc_t = 0x80000
        if not (self.registers[0xF4] >> 2) & 0x07:
            adc_p = 0x80000
        if not self._humidity_oversampling:
            adc_h = 0x8000
        self.registers[0xF7:0xFF] = bytes(
            [adc_p >> 12, (adc_p >> 4) & 0xFF, (adc_p & 0x0F) << 4, adc_t >> 12, (adc_t >> 4) & 0xFF, (adc_t & 0x0F) << 4,
             adc_h >> 8, adc_h & 0xFF]
        )
        self.measurements += 1

    def read(self, register: int, length: int) -> bytes:
        return bytes(self.registers[register : register + length])


def _bisect(function: Callable[[int], float], target: float, low: int, high: int) -> int:
    # function rises with its argument over [low, high].
    while high - low > 1:
        middle = (low + high) // 2
        if function(middle) < target:
            low = middle
        else:
            high = middle
    return high


class FakeMPU6050:
    """Register map of an MPU6050: asleep after reset, acceleration from `acceleration` (g) when awake."""

    def __init__(self, acceleration: Callable[[], tuple[float, float, float]] | None = None) -> None:
        self.registers = bytearray(128)
        self.registers[0x75] = 0x68
        self.registers[0x6B] = 0x40  # SLEEP set at power-on
        self.acceleration = acceleration or (lambda: (0.0, 0.0, 1.0))

    def write(self, register: int, data: bytes) -> None:
        self.registers[register : register + len(data)] = data

    def read(self, register: int, length: int) -> bytes:
        if register <= 0x3B < register + length and not self.registers[0x6B] & 0x40:
            full_scale = 2 << ((self.registers[0x1C] >> 3) & 0x03)  # 2, 4, 8 or 16 g
            counts = []
            for value in self.acceleration():
                count = max(-32768, min(32767, round(value * 32768 / full_scale)))
                counts += [(count >> 8) & 0xFF, count & 0xFF]
            self.registers[0x3B:0x41] = bytes(counts)
        elif register <= 0x3B < register + length:
            self.registers[0x3B:0x41] = bytes(6)
        return bytes(self.registers[register : register + length])


class FakeI2CBus:
    """An I2C bus with fake chips at their addresses; an empty address raises OSError like smbus2."""

    def __init__(self, devices: dict[int, FakeBME280 | FakeMPU6050]) -> None:
        self.devices = devices

    def _device(self, address: int):
        if address not in self.devices:
            raise OSError(errno.EREMOTEIO, f"no device responds at I2C address 0x{address:02X}")
        return self.devices[address]

    def read(self, address: int, register: int, length: int) -> bytes:
        return self._device(address).read(register, length)

    def write(self, address: int, register: int, data: bytes) -> None:
        self._device(address).write(register, data)


class FakeSPI:
    """An MCP3008 on SPI: each conversion samples ``channels[n](t)`` volts and advances the clock by *conversion_s*."""

    def __init__(
        self,
        channels: dict[int, Callable[[float], float]],
        *,
        vref: float = 3.3,
        conversion_s: float = 50e-6,
    ) -> None:
        self.channels = channels
        self.vref = vref
        self.conversion_s = conversion_s
        self.time = 0.0

    def clock(self) -> float:
        """Return the virtual time in seconds."""
        return self.time

    def transfer(self, data: bytes) -> bytes:
        if len(data) != 3 or data[0] != 0x01 or not data[1] & 0x80:
            return bytes(len(data))  # no start bit or differential mode: the fake returns zeros
        channel = (data[1] >> 4) & 0x07
        volts = self.channels.get(channel, lambda t: 0.0)(self.time)
        self.time += self.conversion_s
        code = max(0, min(1023, round(volts / self.vref * 1023)))
        return bytes([0x00, code >> 8, code & 0xFF])


def current_clamp(rms_amps: float, *, mains_hz: float = 50.0, vref: float = 3.3, amps_per_volt: float = 30.0,
                  random_state: int = 0) -> Callable[[float], float]:
    """Return the voltage of a CT clamp on a half-reference bias for a sinusoidal current of *rms_amps*."""
    rng = random.Random(random_state)
    amplitude = rms_amps / amps_per_volt * math.sqrt(2)
    return lambda t: vref / 2 + amplitude * math.sin(2 * math.pi * mains_hz * t) + rng.gauss(0, 0.001)
