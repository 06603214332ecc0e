"""The command-line rule of docs/records.md, written independently of the C
code so the tests can check the agent against it."""


def quote_argument(argument: bytes) -> str:
    text = argument.decode("utf-8", errors="surrogateescape")
    valid = all(not 0xDC80 <= ord(c) <= 0xDCFF for c in text)
    plain = argument and valid and not any(c in text for c in ' \t\n"')
    if plain:
        return text
    out = ['"']
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif 0xDC80 <= ord(c) <= 0xDCFF:
            out.append("\\x%02x" % (ord(c) - 0xDC00))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def command_line(argv_block: bytes) -> str:
    """argv_block: NUL-separated arguments, possibly cut short."""
    pieces = argv_block.split(b"\0")
    if argv_block.endswith(b"\0"):
        pieces.pop()
    return " ".join(quote_argument(p) for p in pieces)
