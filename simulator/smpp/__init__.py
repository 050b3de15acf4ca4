"""SMPP 3.4/5.0: sans-IO codec and session, and the asyncio server adapter."""
