"""The usage ledger: every request, the provider's last figures and the pool's state, on disk.

`Ledger` runs inside the daemon (an event observer plus a writer thread);
`LedgerStore` reads and writes the SQLite file directly (the CLI uses it).
"""

from localgate.ledger.reader import LedgerReader
from localgate.ledger.store import GROUPINGS, LedgerStore, UsageRow, ledger_path
from localgate.ledger.writer import Ledger, apply_known, read_back

__all__ = [
    "GROUPINGS",
    "Ledger",
    "LedgerReader",
    "LedgerStore",
    "UsageRow",
    "apply_known",
    "ledger_path",
    "read_back",
]
