"""The standalone runner: the engine over an embedded SQLite ledger, no Frappe needed."""
