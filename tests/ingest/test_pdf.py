"""A real two-page PDF: read with pypdf, chunked by page, and the page carried to the citation."""

from rag import Engine, render


def _pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", None]
    kids = []
    for text in pages:
        stream = f"BT /F1 11 Tf 40 700 Td ({text}) Tj ET".encode()
        page_no = len(objs) + 1
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_no + 1} 0 R "
                    f"/Resources << /Font << /F1 {2 + 2 * len(pages) + 1} 0 R >> >> >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        kids.append(f"{page_no} 0 R")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_pages_reach_the_citation(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "debate-report.pdf").write_bytes(_pdf([
        "Debate between two strong models helps a weak judge pick the true answer more often than consultancy.",
        "Reward models trained on human preferences reward sycophantic answers that agree with the user.",
    ]))
    (notes / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    eng = Engine.open(tmp_path / "idx", create=True)
    rep = eng.ingest([notes])
    assert rep.added == ["debate-report.pdf"]
    assert [s.path for s in rep.skipped] == ["broken.pdf"] and "PDF" in rep.skipped[0].reason
    pages = [c["page"] for c in eng.index.manifest.chunks_of(["debate-report.pdf"])["debate-report.pdf"]]
    assert pages == [1, 2]
    line = eng.ask("Do reward models trained on human preferences reward sycophantic answers?")
    cited = [s for p in line.paragraphs for s in p.sentences if s.cites]
    assert cited and cited[0].page == 2
    assert "Debate report, p. 2" in render(line, "text")
