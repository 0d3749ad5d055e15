"""Print what a round's control group can detect: the sizes a hoped-for effect needs at each
control share, and the minimum detectable effect of given arms (winback.programme.design).

    .venv/bin/python benchmarks/round_design_table.py
"""

from __future__ import annotations

from winback.programme.design import minimum_detectable_effect, sample_sizes

BASES = (0.05, 0.08, 0.15)
EFFECTS = (0.02, 0.04, 0.08)
SHARES = (0.1, 0.2, 0.5)
CONTROLS = (11, 30, 100, 419, 1000)


def main() -> None:
    print("Needed (control, treated) for alpha 5% two-sided, power 80%")
    print(f"{'base':>6} {'effect':>7} " + " ".join(f"{f'share {s:.0%}':>18}" for s in SHARES))
    for base in BASES:
        for effect in EFFECTS:
            cells = []
            for share in SHARES:
                n_c, n_t = sample_sizes(base, effect, control_share=share)
                cells.append(f"{n_c:>7,} / {n_t:>8,}")
            print(f"{base:>6.0%} {effect:>+7.0%} " + " ".join(f"{c:>18}" for c in cells))
    print()
    print("Minimum detectable effect (points) with a 90/10 split, base 8%, power 80%")
    for n_c in CONTROLS:
        mde = minimum_detectable_effect(0.08, n_control=n_c, n_treated=9 * n_c)
        shown = "not detectable" if mde is None else f"+{mde * 100:.1f}"
        print(f"  {n_c:>5} control, {9 * n_c:>6} treated: {shown}")


if __name__ == "__main__":
    main()
