#!/usr/bin/env python3
"""Parses Prometheus text (ferry's /metrics) on standard input with the
reference client's own parser, and prints what it read as JSON:

    {"families": [{"name": ..., "type": ..., "help": ...}, ...],
     "samples": [{"name": ..., "labels": {...}, "value": ...}, ...]}

Text the parser refuses makes it exit 1 with the parser's error; without the
`prometheus_client` package it exits 2 saying how to install it (the test
that runs it fails then: it is never skipped).
"""

import json
import math
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as error:
    sys.stderr.write(
        "prometheus_parse.py needs the Python package prometheus-client "
        f"({error}): install it with `python3 -m pip install prometheus-client` "
        "(Debian: apt-get install python3-prometheus-client); .ci/run does\n"
    )
    sys.exit(2)


def number(value):
    # JSON has no infinities or NaN: say them as strings.
    if math.isinf(value) or math.isnan(value):
        return str(value)
    return value


def main():
    text = sys.stdin.read()
    families = []
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            families.append(
                {"name": family.name, "type": family.type, "help": family.documentation}
            )
            for sample in family.samples:
                samples.append(
                    {
                        "name": sample.name,
                        "labels": dict(sample.labels),
                        "value": number(sample.value),
                    }
                )
    except Exception as error:  # the parser raises ValueError and others
        sys.stderr.write(f"not valid Prometheus text: {error!r}\n")
        sys.exit(1)
    json.dump({"families": families, "samples": samples}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
