#!/usr/bin/env bash
# metrics_blocks.sh against a real s3rver: blocks land in the bucket and
# queries read them back (see metrics_blocks.sh).
BLOCKS_S3=1 exec bash "$(dirname "$0")/metrics_blocks.sh"
