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
