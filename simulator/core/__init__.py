"""The carrier core: accounts, clock, scheduler, store, message lifecycle and receipts."""
