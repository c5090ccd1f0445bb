"""Figure builders: pure functions, data in, a plotly Figure or graphviz Digraph out."""
