# Subset and rename the fonts threatcov embeds in its SVG trees (see reports/fonts/README.md).
import sys
from fontTools import subset
from fontTools.ttLib import TTFont

def make(src, dst, unicodes, family, style):
    opts = subset.Options()
    opts.layout_features = []
    opts.hinting = False
    opts.desubroutinize = True
    opts.flavor = "woff2"
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    font = TTFont(src, recalcTimestamp=False)
    s = subset.Subsetter(opts)
    s.populate(unicodes=unicodes)
    s.subset(font)
    # A subset is a modified version: it may not keep a Reserved Font Name (OFL 1.1) nor the
    # names Bitstream or Vera (Bitstream Vera licence), so it is renamed.
    name = font["name"]
    full = family + ("" if style == "Regular" else " " + style)
    for rec in list(name.names):
        if rec.nameID == 1:
            rec.string = family
        elif rec.nameID == 2:
            rec.string = style
        elif rec.nameID in (3, 4):
            rec.string = full
        elif rec.nameID == 6:
            rec.string = full.replace(" ", "-")
    font.flavor = "woff2"
    font.save(dst)

text = list(range(0x20, 0x7F)) + list(range(0xA0, 0x100)) + [0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2026, 0x2192]
glyphs = [ord(c) for c in "✔☑◉✖✎⚠∅"]
lib = "/usr/share/fonts/truetype/liberation2/"
make(lib + "LiberationSans-Regular.ttf", sys.argv[1] + "/tc-sans-regular.woff2", text, "threatcov Sans", "Regular")
make(lib + "LiberationSans-Bold.ttf", sys.argv[1] + "/tc-sans-bold.woff2", text, "threatcov Sans", "Bold")
make("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", sys.argv[1] + "/tc-glyphs.woff2", glyphs, "threatcov Glyphs", "Bold")
