"""The app's pages in one list: app.py builds the navigation from it, the home page its cards."""

from __future__ import annotations

from dataclasses import dataclass

from gptviz.i18n import N_


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str  # marked with N_: shown with _(title)
    icon: str  # a Material Symbols name: renders without emoji fonts
    section: str  # N_, as the title
    blurb: str  # one or two sentences for the home page; N_, as the title


CATALOG: list[PageInfo] = [
    PageInfo("pages/baby_gpt.py", N_("Baby GPT (Markov chain)"), ":material/hub:",
             N_("Watch a GPT learn"),
             N_("A GPT with 2 tokens and a context of 3 is a Markov chain with 8 states. Train it "
             "on a bit sequence and watch its state graph move toward the data (document 000).")),
    PageInfo("pages/induction.py", N_("Induction heads"), ":material/content_copy:",
             N_("Watch a GPT learn"),
             N_("Random tokens, then the same tokens again: watch the repeated half's loss crash, "
             "find the head that copies, switch it off and watch the loss rise again.")),
    PageInfo("pages/tokenizers.py", N_("Tokenizers"), ":material/token:",
             N_("Text, tokens and generation"),
             N_("Type text and see how GPT-2, characters, bytes or a BPE you train yourself cut it "
             "into tokens and ids, and decode them back (documents 002 and 003).")),
    PageInfo("pages/forward_pass.py", N_("Forward pass"), ":material/route:",
             N_("Text, tokens and generation"),
             N_("Follow a prompt through the model stage by stage, from token ids to the next "
             "token, with shapes, heatmaps and a logit lens (document 002).")),
    PageInfo("pages/text_model.py", N_("Train on text"), ":material/menu_book:",
             N_("Text, tokens and generation"),
             N_("Train a character-level GPT on a built-in corpus or your own .txt file; see how "
             "a sliding window turns text into (input, target) pairs (documents 001 and 003).")),
    PageInfo("pages/generate.py", N_("Generate"), ":material/edit_note:",
             N_("Text, tokens and generation"),
             N_("Give a prompt and let the model write one token at a time: greedy, temperature, "
             "top-k and top-p, with the candidates and the sliding context window "
             "(document 003).")),
    PageInfo("pages/tasks.py", N_("Sorting & addition"), ":material/calculate:",
             N_("minGPT's tasks"),
             N_("Train minGPT's sorting and addition demos and watch held-out accuracy climb; type "
             "your own problems and see which digit goes wrong (document 001).")),
    PageInfo("pages/gpt1.py", N_("GPT-1: pre-train, fine-tune"), ":material/school:",
             N_("Pre-train, then fine-tune"),
             N_("Pre-train a GPT on plain text, then fine-tune it on a small labelled task and "
             "see whether starting from the pre-trained weights beats starting from scratch "
             "(document 004).")),
    PageInfo("pages/class_room.py", N_("Class room"), ":material/groups:",
             N_("Teach a class"),
             N_("Open a room for your class: students join with its code, and every run they "
             "train appears on one leaderboard and one chart, live.")),
]
