#!/usr/bin/env bash
# metrics_blocks.sh with cut data kept in the head for an hour: the head
# and the blocks hold the same samples, which must answer exactly once
# (see metrics_blocks.sh).
BLOCKS_RETAIN=1 exec bash "$(dirname "$0")/metrics_blocks.sh"
