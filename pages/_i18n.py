"""The app's language for this run: `?lang=` in the URL, else this session's choice, else the
browser's language (`st.context.locale`), else English; and the switch in the sidebar.

An unknown or hostile `?lang=` value shows the app in English with a notice naming the
languages there are; the value itself is never shown.
"""

from __future__ import annotations

import streamlit as st

from gptviz.i18n import DEFAULT, LANGUAGES, _, set_language, supported

KEY = "gptviz_lang"
PARAM = "lang"


def _browser_language() -> str:
    """"zh-CN", "zh-Hans", "zh" -> "zh"; anything else that is not ours -> English."""
    code = (st.context.locale or "").split("-")[0].split("_")[0].lower()
    return code if supported(code) else DEFAULT


def choose_language() -> str:
    """Call first in app.py, before the navigation: sets this run's language (every `_()`
    after it) and keeps it in the URL, so that a shared link opens in the same language
    (pages/_live.py's share box carries it too)."""
    asked = st.query_params.get(PARAM)
    refused = asked is not None and not supported(asked)
    if refused:
        st.session_state[KEY] = DEFAULT
    elif asked is not None and KEY not in st.session_state:
        st.session_state[KEY] = asked  # a link's language, once: then the switch decides
    elif KEY not in st.session_state:
        st.session_state[KEY] = _browser_language()
    lang = set_language(st.session_state[KEY])
    if refused:
        names = ", ".join(f"{name} ({code})" for code, name in LANGUAGES.items())
        st.warning(_("This link asks for a language the app does not have, so it is shown in "
                     "English. Languages: {names}.").format(names=names),
                   icon=":material/translate:")
    # in the URL while it is not English (a link without it opens in the reader's language)
    if lang == DEFAULT:
        if PARAM in st.query_params:
            del st.query_params[PARAM]
    elif st.query_params.get(PARAM) != lang:
        st.query_params[PARAM] = lang
    return lang


def language_switch() -> None:
    """The sidebar's switch (labelled in both languages: findable whichever is shown)."""
    st.sidebar.radio("Language · 语言", list(LANGUAGES), format_func=LANGUAGES.get, key=KEY,
                     horizontal=True)
