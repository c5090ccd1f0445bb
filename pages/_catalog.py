"""The app's pages in one list: app.py builds the navigation from it, the home page its cards."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str  # a Material Symbols name: renders without emoji fonts
    section: str
    blurb: str  # one or two sentences for the home page


CATALOG: list[PageInfo] = [
    PageInfo("pages/baby_gpt.py", "Baby GPT (Markov chain)", ":material/hub:",
             "Watch a GPT learn",
             "A GPT with 2 tokens and a context of 3 is a Markov chain with 8 states. Train it "
             "on a bit sequence and watch its state graph move toward the data (document 000)."),
    PageInfo("pages/induction.py", "Induction heads", ":material/content_copy:",
             "Watch a GPT learn",
             "Random tokens, then the same tokens again: watch the repeated half's loss crash, "
             "find the head that copies, switch it off and watch the loss rise again."),
    PageInfo("pages/tokenizers.py", "Tokenizers", ":material/token:",
             "Text, tokens and generation",
             "Type text and see how GPT-2, characters, bytes or a BPE you train yourself cut it "
             "into tokens and ids, and decode them back (documents 002 and 003)."),
    PageInfo("pages/forward_pass.py", "Forward pass", ":material/route:",
             "Text, tokens and generation",
             "Follow a prompt through the model stage by stage, from token ids to the next "
             "token, with shapes, heatmaps and a logit lens (document 002)."),
    PageInfo("pages/text_model.py", "Train on text", ":material/menu_book:",
             "Text, tokens and generation",
             "Train a character-level GPT on a built-in corpus or your own .txt file; see how "
             "a sliding window turns text into (input, target) pairs (documents 001 and 003)."),
    PageInfo("pages/generate.py", "Generate", ":material/edit_note:",
             "Text, tokens and generation",
             "Give a prompt and let the model write one token at a time: greedy, temperature, "
             "top-k and top-p, with the candidates and the sliding context window (document 003)."),
    PageInfo("pages/tasks.py", "Sorting & addition", ":material/calculate:",
             "minGPT's tasks",
             "Train minGPT's sorting and addition demos and watch held-out accuracy climb; type "
             "your own problems and see which digit goes wrong (document 001)."),
    PageInfo("pages/gpt1.py", "GPT-1: pre-train, fine-tune", ":material/school:",
             "Pre-train, then fine-tune",
             "Pre-train a GPT on plain text, then fine-tune it on a small labelled task and "
             "see whether starting from the pre-trained weights beats starting from scratch "
             "(document 004)."),
    PageInfo("pages/class_room.py", "Class room", ":material/groups:",
             "Teach a class",
             "Open a room for your class: students join with its code, and every run they "
             "train appears on one leaderboard and one chart, live."),
]
