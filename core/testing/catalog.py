"""Deterministic seeded catalogs shared by every fake.

A store fake and a channel fake started with the same `seed`, `products` and `variants` hold
the same SKUs (a channel's `seller_sku` is the store's SKU), so the two can be linked in tests,
benchmarks and the demo. Everything platform-specific (ids, policies, quantities) is derived
by each fake from `SeedVariant.rng()` so it is deterministic too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_ADJECTIVES = ("Classic", "Organic", "Everyday", "Premium", "Vintage", "Urban", "Coastal", "Alpine")
_NOUNS = ("Tee", "Hoodie", "Mug", "Tote", "Candle", "Notebook", "Cap", "Scarf", "Bottle", "Socks")
_OPTIONS = ("S", "M", "L", "XL", "XXL", "Red", "Blue", "Green", "Black", "White")


@dataclass(frozen=True)
class SeedVariant:
    """One variant of a seeded product."""

    product_index: int
    variant_index: int
    sku: str
    option: str
    price: str
    seed: int

    def rng(self, salt: str = "") -> random.Random:
        """A random generator unique to this variant (and `salt`), stable across runs."""
        return random.Random(f"{self.seed}:{self.sku}:{salt}")


@dataclass(frozen=True)
class SeedProduct:
    """One seeded product and its variants."""

    index: int
    title: str
    variants: tuple[SeedVariant, ...]


def seed_catalog(seed: int = 0, products: int = 20, variants: int = 3) -> list[SeedProduct]:
    """`products` products of `variants` variants each, the same for the same arguments."""
    if products < 0 or variants < 1:
        raise ValueError("products must be >= 0 and variants >= 1")
    catalog = []
    for p in range(products):
        rng = random.Random(f"{seed}:product:{p}")
        title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {p + 1:05d}"
        base_cents = rng.randrange(500, 9_000)
        items = tuple(
            SeedVariant(
                product_index=p,
                variant_index=v,
                sku=f"SKU-{seed}-{p + 1:05d}-{v + 1:02d}",
                option=_OPTIONS[v % len(_OPTIONS)] + ("" if v < len(_OPTIONS) else f"-{v}"),
                price=f"{(base_cents + 100 * v) / 100:.2f}",
                seed=seed,
            )
            for v in range(variants)
        )
        catalog.append(SeedProduct(index=p, title=title, variants=items))
    return catalog
