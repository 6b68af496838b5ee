"""Daily price data for the financial agent: a CSV from the instance's data folder, yfinance when
installed and allowed, else the bundled sample of real prices (sample_data/prices.csv)."""
from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

from errors import BadRequest, NotFound

logger = logging.getLogger(__name__)

SAMPLE_FILE = Path(__file__).resolve().parent.parent / "sample_data" / "prices.csv"
"""Bundled real daily closes of a few tickers; origin and licence in sample_data/README.md."""

SAMPLE_SOURCE = ("bundled sample of real daily closes (Quandl WIKI Prices, public domain, via the "
                 "bokeh_sampledata package; historical, not live)")
"""How replies name the bundled sample."""

MAX_CSV_BYTES = 20_000_000
"""Largest CSV read from the data folder."""

MAX_CSV_ROWS = 500_000
"""Most data rows read from one CSV."""

YFINANCE_PERIOD = "2y"
"""History requested from yfinance."""

SAMPLE_CAVEAT = ("Data caveat: unadjusted daily closes, dividends excluded: returns are price returns, not "
                 "total returns (no stock split falls inside the sample's window).")
"""What the bundled sample's prices leave out, said in every reply that uses them."""

PRICE_COLUMNS = ("adj close", "adj_close", "adjclose", "adjusted close", "close", "price", "last")
"""Accepted price columns, most preferred first (adjusted closes include dividends and splits)."""

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%m/%d/%Y")
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,11}$")


@dataclass(frozen=True)
class Series:
    """Daily closes of one ticker, oldest first."""

    ticker: str
    dates: tuple[date, ...]
    closes: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.dates) != len(self.closes):
            raise ValueError(f"{self.ticker}: {len(self.dates)} dates but {len(self.closes)} prices")
        if any(c <= 0 for c in self.closes):
            raise ValueError(f"{self.ticker}: prices must be positive")

    def __len__(self) -> int:
        return len(self.closes)

    def between(self, start: date | None = None, end: date | None = None) -> Series:
        """The part of the series from start to end, both included."""
        keep = [i for i, d in enumerate(self.dates)
                if (start is None or d >= start) and (end is None or d <= end)]
        return Series(self.ticker, tuple(self.dates[i] for i in keep), tuple(self.closes[i] for i in keep))


@dataclass(frozen=True)
class MarketData:
    """Series by ticker, and where they came from."""

    series: dict[str, Series]
    source: str
    """Plain-words origin, stated in every reply."""
    caveat: str = SAMPLE_CAVEAT
    """What the prices leave out (adjustment, dividends), stated in every reply."""

    def get(self, ticker: str) -> Series:
        """The series of a ticker; NotFound names the tickers there are."""
        found = self.series.get(ticker.strip().upper())
        if found is None or not len(found):
            raise NotFound(f"No prices for {ticker.upper()} in the {self.source}; available: "
                           f"{', '.join(self.tickers) or 'none'}")
        return found

    @property
    def tickers(self) -> list[str]:
        """Tickers with data, sorted."""
        return sorted(t for t, s in self.series.items() if len(s))

    def source_line(self, tickers: list[str] | None = None, start: date | None = None,
                    end: date | None = None) -> str:
        """'Data source: ...; TICKERS daily closes, FIRST to LAST' for the tickers (all by default)
        over the dates used."""
        chosen = [self.series[t].between(start, end) for t in (tickers or self.tickers) if t in self.series]
        chosen = [s for s in chosen if len(s)]
        if not chosen:
            return f"Data source: {self.source}; no dates."
        first, last = min(s.dates[0] for s in chosen), max(s.dates[-1] for s in chosen)
        names = ", ".join(s.ticker for s in chosen)
        return f"Data source: {self.source}; {names} daily closes, {first.isoformat()} to {last.isoformat()}."


def sample_data() -> MarketData:
    """The bundled sample (read once)."""
    return MarketData(_sample_series(), SAMPLE_SOURCE, SAMPLE_CAVEAT)


def sample_note() -> str:
    """A line for a finance reply that names no dated source: what the built-in data covers."""
    data = sample_data()
    first = min(s.dates[0] for s in data.series.values())
    last = max(s.dates[-1] for s in data.series.values())
    return ("Data source: not stated with dates in the reply above, so treat its figures as unverified. "
            f"OperatorOS's built-in data is the {data.source}: {', '.join(data.tickers)}, "
            f"{first.isoformat()} to {last.isoformat()}. {SAMPLE_CAVEAT}")


@lru_cache(maxsize=1)
def _sample_series() -> dict[str, Series]:
    return parse_csv(SAMPLE_FILE.read_text(encoding="utf-8"), default_ticker="SAMPLE")[0]


def resolve_data_file(data_dir: Path | str | None, name: str) -> Path:
    """The path of a CSV named by a user, inside the data folder only.

    Args:
        data_dir: the instance's data folder (settings.data_dir).
        name: the file name the user gave, relative to that folder.

    Returns:
        The resolved path of an existing file.

    Raises:
        BadRequest: no data folder, an absolute path, '..', a name not ending in .csv, or a path
            (or symlink) that leads outside the folder.
        NotFound: no such file in the folder.
    """
    if data_dir is None:
        raise BadRequest("No data folder is configured, so no CSV file can be read")
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise BadRequest("A CSV file name is needed")
    name = name.strip()
    windows = PureWindowsPath(name)
    if PurePosixPath(name).is_absolute() or windows.is_absolute() or windows.drive \
            or name.startswith(("\\", "~")):
        raise BadRequest(f"Only files inside the data folder can be read: {name!r} is an absolute path")
    parts = re.split(r"[\\/]+", name)
    if ".." in parts:
        raise BadRequest(f"Only files inside the data folder can be read: {name!r} leaves it")
    if not name.lower().endswith(".csv"):
        raise BadRequest(f"Only .csv files can be read: {name!r}")
    root = Path(data_dir).resolve()
    path = (root / Path(*parts)).resolve()
    if not path.is_relative_to(root):
        raise BadRequest(f"Only files inside the data folder can be read: {name!r} leads outside it")
    if not path.is_file():
        raise NotFound(f"No file {name!r} in the data folder (data/ in the instance folder)")
    return path


def load_csv(data_dir: Path | str | None, name: str) -> MarketData:
    """Read a user's price CSV from the data folder (see parse_csv for the formats)."""
    path = resolve_data_file(data_dir, name)
    if path.stat().st_size > MAX_CSV_BYTES:
        raise BadRequest(f"{name} is larger than {MAX_CSV_BYTES // 1_000_000} MB")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    default = re.sub(r"[^A-Z0-9.]", "", path.stem.upper())[:12] or "FILE"
    series, column = parse_csv(text, default_ticker=default)
    return MarketData(series, f"your file {name} in the data folder (column '{column}')", csv_caveat(column))


def csv_caveat(column: str) -> str:
    """What a user's CSV prices may leave out, by the column they came from."""
    if column.lower().replace("_", " ").replace("adjusted", "adj") in ("adj close", "adjclose"):
        return (f"Data caveat: adjusted closes from your file (column '{column}'): splits and dividends are "
                "as your source adjusted them.")
    return (f"Data caveat: prices as given in your file (column '{column}'); if they are unadjusted, a split "
            "shows as a fall and dividends are excluded, so returns are price returns, not total returns.")


def parse_csv(text: str, *, default_ticker: str) -> tuple[dict[str, Series], str]:
    """Parse daily prices: long (date, ticker, close), wide (date, one column per ticker) or single
    (date, close; named by default_ticker). Returns the series and the price column used.

    Raises:
        BadRequest: no date column, no usable prices, too many rows, or an unreadable date.
    """
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    lower = [h.lower() for h in header]
    if "date" not in lower and "datetime" not in lower:
        raise BadRequest("The CSV needs a 'date' column")
    date_i = lower.index("date") if "date" in lower else lower.index("datetime")
    ticker_i = next((lower.index(k) for k in ("ticker", "symbol") if k in lower), None)
    price_i = next((lower.index(k) for k in PRICE_COLUMNS if k in lower), None)
    rows: dict[str, dict[date, float]] = {}
    if price_i is not None:
        column = header[price_i]
        for n, row in enumerate(_rows(reader), start=2):
            ticker = row[ticker_i].strip().upper() if ticker_i is not None else default_ticker
            _put(rows, ticker, row, date_i, price_i, n)
    else:
        value_cols = [i for i, h in enumerate(header) if i != date_i and _TICKER.match(h.upper())]
        if not value_cols:
            raise BadRequest(f"No price column found; expected one of: {', '.join(PRICE_COLUMNS)}")
        column = "one column per ticker"
        for n, row in enumerate(_rows(reader), start=2):
            for i in value_cols:
                _put(rows, header[i].upper(), row, date_i, i, n)
    series = {t: Series(t, tuple(sorted(v)), tuple(v[d] for d in sorted(v))) for t, v in rows.items() if v}
    if not series:
        raise BadRequest("The CSV has no usable prices")
    return series, column


def _rows(reader: Iterator[list[str]]) -> list[list[str]]:
    rows = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        rows.append(row)
        if len(rows) > MAX_CSV_ROWS:
            raise BadRequest(f"The CSV has more than {MAX_CSV_ROWS} rows")
    return rows


def _put(rows: dict[str, dict[date, float]], ticker: str, row: list[str], date_i: int, price_i: int,
         line: int) -> None:
    if max(date_i, price_i) >= len(row):
        raise BadRequest(f"CSV line {line}: too few columns")
    raw = row[price_i].strip().replace(",", "")
    if raw.lower() in ("", "null", "nan", "na", "n/a", "-"):
        return
    try:
        price = float(raw)
    except ValueError as exc:
        raise BadRequest(f"CSV line {line}: {row[price_i]!r} is not a price") from exc
    if price <= 0:
        raise BadRequest(f"CSV line {line}: prices must be positive")
    rows.setdefault(ticker, {})[parse_date(row[date_i], line)] = price


def parse_date(raw: str, line: int | None = None) -> date:
    """A date written as YYYY-MM-DD (a time after it is ignored), YYYY/MM/DD, DD.MM.YYYY or MM/DD/YYYY."""
    cleaned = raw.strip()[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    where = f"CSV line {line}: " if line else ""
    raise BadRequest(f"{where}{raw!r} is not a date (use YYYY-MM-DD)")


def fetch_yfinance(tickers: list[str], period: str = YFINANCE_PERIOD) -> MarketData | None:
    """Daily closes from yfinance, or None when it is not installed or the download fails."""
    try:
        import yfinance  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        frame = yfinance.download(tickers, period=period, interval="1d", auto_adjust=True, progress=False,
                                  threads=False, group_by="column")
        closes = frame["Close"]
        series = {}
        for ticker in tickers:
            column = closes[ticker] if hasattr(closes, "columns") and ticker in closes.columns else closes
            column = column.dropna()
            dates = tuple(ts.date() for ts in column.index)
            values = tuple(float(v) for v in column.to_numpy())
            if dates:
                series[ticker] = Series(ticker, dates, values)
    except Exception as exc:  # any network or parsing failure falls back to other data
        logger.info("yfinance download of %s failed: %s", ",".join(tickers), exc)
        return None
    if not series:
        return None
    return MarketData(series, "Yahoo Finance via yfinance (adjusted daily closes)",
                      "Data caveat: adjusted closes (splits and dividends adjusted by Yahoo Finance), so "
                      "returns include dividends.")


def load_market_data(tickers: list[str] | None = None, *, data_dir: Path | str | None = None,
                     csv_name: str | None = None, allow_network: bool = False) -> MarketData:
    """The data a reply uses: the named CSV; else yfinance (when allowed and it has every ticker
    asked for); else the bundled sample."""
    if csv_name:
        return load_csv(data_dir, csv_name)
    if allow_network and tickers:
        fetched = fetch_yfinance(tickers)
        if fetched is not None and all(t in fetched.series for t in tickers):
            return fetched
    return sample_data()
