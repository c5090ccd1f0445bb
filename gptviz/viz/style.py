"""Shared look: sizes and colours that read on a projector from the back of the room."""

FONT_SIZE = 16
TITLE_SIZE = 20
TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
FLOOR_COLOR = "#2ca02c"
SEEN_FILL = "#dbeafe"
UNSEEN_FILL = "#f3f4f6"
SEEN_LINE = "#1e40af"
UNSEEN_LINE = "#9ca3af"
# states the loss never scores (shorter prefixes when only the last position is scored)
NOT_SCORED_FILL = "#ffedd5"
NOT_SCORED_LINE = "#c2410c"
EDGE_COLOR = "#1e3a8a"
HEAT_SCALE = "Blues"


def base_layout(title: str, height: int = 400) -> dict:
    return dict(
        title=dict(text=title, font=dict(size=TITLE_SIZE)),
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=60, r=20, t=60, b=50),
        template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )

# Live figures on a classroom projector (1280x720): with the sidebar open the state graph gets
# about GRAPH_WIDTH_PX of the screen, and no text in it may be smaller than MIN_TEXT_SIZE there
# (plotly sizes text in px, whatever the figure's width). font_scale=PRESENTER_SCALE: larger type.
GRAPH_WIDTH_PX = 560
MIN_TEXT_SIZE = 14
GRAPH_NAME_SIZE = 16  # state names
GRAPH_LABEL_SIZE = 14  # arrow labels, step numbers, legend and hover text
PRESENTER_SCALE = 1.5
HIGHLIGHT_COLOR = "#dc2626"  # the selected state and its arrows
PATH_COLOR = "#7c3aed"  # a walk through the chain, step by step
DIM_TEXT_COLOR = "#94a3b8"  # labels of arrows not selected
DIM_OPACITY = 0.3  # what is left of an arrow's opacity while another state is selected
MARKER_COLOR = "#374151"  # the timeline's current step on the loss curve
LR_COLOR = "#9467bd"
# Compare runs (gptviz/viz/runs.py): one colour per kept run, in the order they are given out
# (no green: the floor the data allows is drawn in FLOOR_COLOR), and the model training now in
# near-black, so "this run" stands out against the kept ones
RUN_COLORS = ("#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
              "#bcbd22")
LIVE_RUN_COLOR = "#111827"
