"""carrier-sim: a carrier (SMSC) simulator and load-testing harness for A2P messaging."""
