#!/usr/bin/env python3
"""Print each failed test of a .trx file with the head of its message and stack.

test.sh calls this just before its last line, so a CI log that keeps only the tail of
the output still names what failed and why.
"""
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
LINES = 25  # of message + stack per failure: enough to see the assertion and where

root = ET.parse(sys.argv[1]).getroot()
for result in root.iterfind(".//t:UnitTestResult", NS):
    if result.get("outcome") not in ("Failed", "Error", "Timeout", "Aborted"):
        continue
    print(f"FAILED {result.get('testName')} ({result.get('duration')})")
    info = result.find("t:Output/t:ErrorInfo", NS)
    text = ""
    if info is not None:
        text = "\n".join(
            (node.text or "") for node in (info.find("t:Message", NS), info.find("t:StackTrace", NS)) if node is not None
        )
    for line in text.strip().splitlines()[:LINES]:
        print(f"    {line}")
