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
]
