"""Test helpers shared by more than one test folder (plain modules, no fixtures)."""
