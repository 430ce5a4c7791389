"""Word's equations (Office Math Markup, ``m:oMath``) as LaTeX, for math.py to typeset: runs, fractions,
scripts, radicals, n-ary operators (sums, integrals), delimiters, functions, accents, bars, limits, group
characters, matrices and equation arrays. An element this does not know keeps its text."""

from __future__ import annotations

M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"

SYMBOLS = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon", "ζ": r"\zeta", "η": r"\eta",
    "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi",
    "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\phi", "χ": r"\chi",
    "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi",
    "Π": r"\Pi", "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega", "∞": r"\infty", "±": r"\pm",
    "∓": r"\mp", "×": r"\times", "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot", "≤": r"\leq", "≥": r"\geq",
    "≠": r"\neq", "≈": r"\approx", "≡": r"\equiv", "∝": r"\propto", "→": r"\rightarrow", "←": r"\leftarrow",
    "⇒": r"\Rightarrow", "⇔": r"\Leftrightarrow", "∈": r"\in", "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq",
    "∪": r"\cup", "∩": r"\cap", "∀": r"\forall", "∃": r"\exists", "∂": r"\partial", "∇": r"\nabla", "…": r"\ldots",
    "⋯": r"\cdots", "∅": r"\emptyset", "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "′": "'",
    "−": "-", "∗": "*",
}
NARY = {"∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∬": r"\iint", "∭": r"\iiint", "∮": r"\oint", "⋃": r"\bigcup",
        "⋂": r"\bigcap", "∐": r"\coprod"}
ACCENTS = {"̂": r"\hat", "̃": r"\tilde", "̄": r"\bar", "̇": r"\dot", "̈": r"\ddot", "⃗": r"\vec", "́": r"\acute",
           "̀": r"\grave", "̆": r"\breve", "̌": r"\check"}
FUNCTIONS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "lim", "max", "min", "sup", "inf", "det",
             "arg", "deg", "dim", "gcd", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan", "Pr"}
DELIMITERS = {"(": "(", ")": ")", "[": "[", "]": "]", "{": r"\{", "}": r"\}", "|": "|", "‖": r"\|", "⟨": r"\langle",
              "⟩": r"\rangle", "⌈": r"\lceil", "⌉": r"\rceil", "⌊": r"\lfloor", "⌋": r"\rfloor", "": "."}


def _val(el, path: str, default: str | None = None) -> str | None:
    """The m:val of a property element under ``el`` (``path`` like "m:naryPr/m:chr")."""
    node = el.find(path.replace("m:", M)) if el is not None else None
    if node is None:
        return default
    return node.get(f"{M}val", default)


def _text(text: str) -> str:
    out = []
    for ch in text:
        if ch in SYMBOLS:
            out.append(SYMBOLS[ch] + " ")
        elif ch in NARY:
            out.append(NARY[ch] + " ")
        elif ch in "{}":
            out.append("\\" + ch)
        elif ch in "%$#&_^":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _group(el) -> str:
    """An argument: braces unless it is one character."""
    tex = _children(el).strip()
    return tex if len(tex) == 1 else "{" + tex + "}"


def _children(el) -> str:
    return "".join(_latex(c) for c in el) if el is not None else ""


def _part(el, name: str) -> str:
    return _children(el.find(f"{M}{name}"))


MAX_DEPTH = 60  # elements nested past this (no real equation is) make the equation read as its plain text


def _plain(el) -> str:
    return "".join(t.text or "" for t in el.iter() if isinstance(t.tag, str) and t.tag.endswith("}t"))


def _nesting(el) -> int:
    """How deep elements nest under ``el`` (without recursion: a hostile file may nest thousands deep)."""
    deepest, stack = 0, [(el, 0)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in node)
    return deepest


def to_latex(el) -> str:
    """One OMML element (``m:oMath``, ``m:oMathPara`` or anything inside) as LaTeX; nested too deep, its
    plain text."""
    if _nesting(el) > MAX_DEPTH:
        return _text(_plain(el))
    return _latex(el)


def _latex(el) -> str:
    tag = el.tag.replace(M, "") if isinstance(el.tag, str) else ""
    if tag in ("oMath", "oMathPara", "e", "num", "den", "sub", "sup", "deg", "fName", "lim", "box", "borderBox"):
        if tag == "oMathPara":
            return " \\\\ ".join(_latex(c) for c in el if c.tag == f"{M}oMath")
        return _children(el)
    if tag == "r":
        text = _plain(el)
        if el.find(f"{M}rPr/{M}nor") is not None:  # normal text inside the equation
            return r"\mathrm{" + text + "}"
        if text in FUNCTIONS:
            return "\\" + text + " "
        return _text(text)
    if tag == "f":
        return r"\frac{" + _part(el, "num") + "}{" + _part(el, "den") + "}"
    if tag == "sSup":
        return _group(el.find(f"{M}e")) + "^{" + _part(el, "sup") + "}"
    if tag == "sSub":
        return _group(el.find(f"{M}e")) + "_{" + _part(el, "sub") + "}"
    if tag == "sSubSup":
        return _group(el.find(f"{M}e")) + "_{" + _part(el, "sub") + "}^{" + _part(el, "sup") + "}"
    if tag == "sPre":
        return "{}_{" + _part(el, "sub") + "}^{" + _part(el, "sup") + "}" + _group(el.find(f"{M}e"))
    if tag == "rad":
        deg = _part(el, "deg").strip()
        return r"\sqrt" + (f"[{deg}]" if deg else "") + "{" + _part(el, "e") + "}"
    if tag == "nary":
        op = _val(el, "m:naryPr/m:chr", "∫")
        out = NARY.get(op, _text(op))
        sub, sup = _part(el, "sub").strip(), _part(el, "sup").strip()
        if sub:
            out += "_{" + sub + "}"
        if sup:
            out += "^{" + sup + "}"
        return out + " " + _part(el, "e")
    if tag == "d":
        pr = el.find(f"{M}dPr")
        beg, end = _val(pr, "m:begChr", "("), _val(pr, "m:endChr", ")")
        sep = _val(pr, "m:sepChr", "|")
        inner = (" " + _text(sep) + " ").join(_children(e) for e in el.findall(f"{M}e"))
        return r"\left" + DELIMITERS.get(beg, _text(beg)) + inner + r"\right" + DELIMITERS.get(end, _text(end))
    if tag == "func":
        name = _part(el, "fName").strip()
        return (name if name.startswith("\\") else r"\mathrm{" + name + "}") + " " + _group(el.find(f"{M}e"))
    if tag == "acc":
        ch = _val(el, "m:accPr/m:chr", "̂")
        return ACCENTS.get(ch, r"\hat") + "{" + _part(el, "e") + "}"
    if tag == "bar":
        return (r"\underline{" if _val(el, "m:barPr/m:pos") == "bot" else r"\overline{") + _part(el, "e") + "}"
    if tag == "limLow":
        return _group(el.find(f"{M}e")) + "_{" + _part(el, "lim") + "}"
    if tag == "limUpp":
        return _group(el.find(f"{M}e")) + "^{" + _part(el, "lim") + "}"
    if tag == "groupChr":
        pos = _val(el, "m:groupChrPr/m:pos", "bot")
        return (r"\underbrace{" if pos == "bot" else r"\overbrace{") + _part(el, "e") + "}"
    if tag == "m":
        rows = [" & ".join(_children(e) for e in mr.findall(f"{M}e")) for mr in el.findall(f"{M}mr")]
        return r"\begin{matrix}" + r" \\ ".join(rows) + r"\end{matrix}"
    if tag == "eqArr":
        return r" \\ ".join(_children(e) for e in el.findall(f"{M}e"))
    if tag.endswith("Pr") or tag == "ctrlPr":
        return ""  # properties
    return _children(el) or _plain(el)
