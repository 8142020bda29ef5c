"""Money as integer minor units plus an ISO 4217 code.

Every amount in Hourline is an `int` count of the currency's minor unit. The exponent
table below is the only source of how many minor units a currency has. Rounding is
half-up (away from zero for positive amounts), done in integer arithmetic.
"""

# ISO 4217 active codes whose exponent is not 2.
_EXPONENT_EXCEPTIONS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}

# ISO 4217 active currency codes with exponent 2 (funds and precious metals excluded).
_TWO_DECIMALS = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BOV",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHE",
    "CHF",
    "CHW",
    "CNY",
    "COP",
    "COU",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MXV",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "USN",
    "UYU",
    "UZS",
    "VED",
    "VES",
    "WST",
    "XCD",
    "XCG",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
]

CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS, 2),
    **_EXPONENT_EXCEPTIONS,
}


def is_currency(code: str) -> bool:
    return code in CURRENCY_EXPONENTS


def exponent(code: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency; KeyError for unknown codes."""
    return CURRENCY_EXPONENTS[code]


def div_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half-up (half away from zero)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return sign * q


def amount_for_seconds(seconds: int, hourly_rate_amount: int) -> int:
    """What `seconds` of work cost at an hourly rate in minor units, half-up."""
    return div_half_up(seconds * hourly_rate_amount, 3600)


def apply_bps(amount: int, bps: int) -> int:
    """`amount` times a basis-point rate (1 bps = 0.01 %), half-up."""
    return div_half_up(amount * bps, 10_000)


def format_amount(amount: int, currency: str) -> str:
    """`1234, "EUR"` -> `"12.34 EUR"`; exact, no floats."""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**exp)
    text = f"{units:,}" if exp == 0 else f"{units:,}.{minor:0{exp}d}"
    return f"{sign}{text} {currency}"
