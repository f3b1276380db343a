"""Helpers that several test folders share (each module says what it is for).

Helpers of one folder stay beside its tests (console_support.py, action_test_support.py, ...).
"""
