"""The canvas' measures, in scene units (pixels at zoom 1)."""

BLOCK_WIDTH = 216.0
BOX_MARGIN = 14.0  # from a block's frame to its boxes
GAP = 9.0  # between two boxes of a block
NORM_HEIGHT = 22.0
BLOCK_HEADER = 24.0
GROUP_HEADER = 54.0
GROUP_PADDING = 10.0
GROUP_GAP = 46.0  # between two layer groups
ROW_HEIGHT = 18.0  # an expanded group's rows, one per layer
ROW_WIDTH = 250.0
ROWS_PER_COLUMN = 16
