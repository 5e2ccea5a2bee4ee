"""PII redaction benchmark: recall per kind and precision on real texts with injected PII.

    PYTHONPATH=src .venv/bin/python benchmarks/pii.py [--per-kind 200] [--seed 0]

The set (benchmarks/pii_data.py): banking77 queries and clothing reviews, each with one
injected value (e-mail, phone, card, IBAN, IP, URL with credentials, national id) in varied
formats and positions, many also carrying a look-alike (order number, date, amount, time,
version, tracking number, masked card); plus texts with only look-alikes and untouched texts.
A found span counts as correct when it has the injected value's kind and covers all of it;
every other span found is a false positive. Targets (issue 8): recall ≥ 0.99 e-mail, card,
IBAN; ≥ 0.95 phone, IP; precision ≥ 0.98. Also: look-alikes left intact, and throughput.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pii_data import build  # noqa: E402

from featureship.privacy.pii import KINDS, default_redactor  # noqa: E402

TARGET_RECALL = {"EMAIL": 0.99, "CARD": 0.99, "IBAN": 0.99, "PHONE": 0.95, "IP": 0.95}
TARGET_PRECISION = 0.98


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show-errors", type=int, default=5)
    args = parser.parse_args()
    examples = build(args.per_kind, n_lookalike=4 * args.per_kind, n_clean=2 * args.per_kind, seed=args.seed)
    redactor = default_redactor()
    redactor.find("warm up 192.168.0.1")
    tp, fn, fp = Counter(), Counter(), Counter()
    lookalikes_kept, lookalikes_total = 0, 0
    misses, false = [], []
    started = time.perf_counter()
    found_all = [redactor.find(ex.text) for ex in examples]
    seconds = time.perf_counter() - started
    for ex, found in zip(examples, found_all, strict=True):
        matched = set()
        for kind, start, end in ex.spans:
            hit = [s for s in found if s.kind == kind and s.start <= start and s.end >= end]
            if hit:
                tp[kind] += 1
                matched.update(hit)
            else:
                fn[kind] += 1
                misses.append((kind, ex.text[start:end], [(s.kind, ex.text[s.start:s.end]) for s in found]))
        for span in found:
            if span not in matched:
                fp[span.kind] += 1
                false.append((span.kind, ex.text[span.start:span.end], ex.text))
        clean, _ = redactor.redact(ex.text)
        for look in ex.lookalikes:
            lookalikes_total += 1
            lookalikes_kept += look in clean
    print(f"{len(examples)} texts ({sum(len(e.spans) for e in examples)} injected values, "
          f"{lookalikes_total} look-alike-only texts), seed {args.seed}")
    print(f"{'kind':<12} {'recall':>7} {'precision':>9} {'found':>6} {'missed':>6} {'false+':>6}  target")
    ok = True
    for kind in KINDS:
        recall = tp[kind] / max(tp[kind] + fn[kind], 1)
        precision = tp[kind] / max(tp[kind] + fp[kind], 1)
        target = TARGET_RECALL.get(kind)
        met = (target is None or recall >= target) and precision >= TARGET_PRECISION
        ok &= met
        print(f"{kind:<12} {recall:7.3f} {precision:9.3f} {tp[kind]:6d} {fn[kind]:6d} {fp[kind]:6d}  "
              f"recall ≥ {target if target else '-'}, precision ≥ {TARGET_PRECISION} {'ok' if met else 'MISSED'}")
    total_tp, total_fp = sum(tp.values()), sum(fp.values())
    overall = total_tp / max(total_tp + total_fp, 1)
    print(f"overall precision {overall:.4f}; look-alikes left intact {lookalikes_kept}/{lookalikes_total}; "
          f"{len(examples) / seconds:,.0f} texts/s on this machine")
    for kind, value, seen in misses[:args.show_errors]:
        print(f"  missed {kind}: {value!r} (found {seen})")
    for kind, value, text in false[:args.show_errors]:
        print(f"  false {kind}: {value!r} in {text[:100]!r}")
    print("all targets met" if ok and overall >= TARGET_PRECISION else "TARGETS MISSED")


if __name__ == "__main__":
    main()
