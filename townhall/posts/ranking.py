"""The "Top" order of feeds.

    hot_score = log10(1 + reactions + 2 * comments + 3 * shares) + (created - 1_700_000_000 s) / 45_000 s

Engagement counts on a log scale (the tenth reaction matters less than the first),
comments weigh twice a reaction and shares three times, and every 45,000 seconds
(12.5 hours) of age costs as much as a tenfold drop in engagement. The score only
changes when engagement changes, so it is stored on the post and indexed; services
recompute it whenever a reaction, comment or share is added or removed.
"""

from __future__ import annotations

import math
from datetime import datetime

EPOCH = 1_700_000_000
DECAY_SECONDS = 45_000


def hot_score(created_at: datetime, reactions: int, comments: int, shares: int) -> float:
    engagement = max(0, reactions) + 2 * max(0, comments) + 3 * max(0, shares)
    return math.log10(1 + engagement) + (created_at.timestamp() - EPOCH) / DECAY_SECONDS
