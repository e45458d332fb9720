"""Stories: the other papers that carried an article's story, and a topic's timeline.

Ingest merges exact and near copies of one article; the rewrites of one event by several
papers stay apart. ``Stories`` finds them at question time: another document is on the same
story when its chunk nearest this document's lead is close enough (a cosine floor, or a lower
one with a shared share of the lead's BM25 weight) and it was published within
``retrieval.story_days``. The timeline lists every article past a relevance floor in date
order, grouped into stories one step from what was found. Retrieval goes through
``Retriever``; stored chunks and documents are read from the store and the manifest.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rag.config import Config
from rag.errors import AkhbarError
from rag.retrieval import Filters, Retriever
from rag.store import ChromaStore, date_num
from rag.text import overlap, sentence_spans
from rag.types import SourceRef, Timeline, TimelineEntry


def story_linked(cosine: float, share: float, high: float, low: float, lexical: float) -> bool:
    """The same-story rule: a cosine of at least ``high``, or of at least ``low`` with a BM25
    share of at least ``lexical`` (0: the cosine alone). ``bench/stories.py`` fits it."""
    return cosine >= high or (lexical > 0 and cosine >= low and share >= lexical)


class Stories:
    def __init__(self, config: Config, store: ChromaStore, manifest: Any, retriever: Retriever) -> None:
        self.cfg = config
        self.store = store
        self.manifest = manifest
        self.retriever = retriever

    def same_story(self, doc_id: str, floor: float | None = None, lexical: bool = True) -> list[tuple[str, float]]:
        """Other documents on the same story, best first, published within
        ``retrieval.story_days`` of this one (any date when it has none): their chunk
        nearest to this document's lead has a cosine of at least ``floor``
        (``retrieval.story_similarity``), or of at least ``retrieval.story_similarity_low``
        while sharing at least ``retrieval.story_lexical`` of the lead's BM25 weight (the
        rare names, places and figures: two papers' rewrites of one match report word it
        differently but name the same players). Rewrites of one event by several papers,
        which ingest keeps apart. ``lexical=False``: the cosine alone."""
        rc = self.cfg.retrieval
        floor = rc.story_similarity if floor is None else floor
        share = rc.story_lexical if lexical else 0.0
        low = min(floor, rc.story_similarity_low) if share > 0 else floor
        return [(d, cos) for d, cos, lex in self.story_links(doc_id, floor=low)
                if story_linked(cos, lex, floor, rc.story_similarity_low, share)]

    def story_links(self, doc_id: str, floor: float | None = None,
                    lexical: bool | None = None) -> list[tuple[str, float, float]]:
        """The candidates ``same_story`` judges: (document, cosine of its chunk nearest to
        this document's lead, that chunk's BM25 share of the lead), best cosine first, for
        the 40 chunks nearest the lead within ``story_days`` whose cosine is at least
        ``floor`` (default: the lower of the two story floors). The BM25 share is computed
        when ``lexical`` (default: when ``story_lexical`` is on), else 0."""
        rc = self.cfg.retrieval
        row = self.manifest.doc(doc_id)
        if row is None or not row.chunk_ids:
            return []
        if floor is None:
            floor = min(rc.story_similarity, rc.story_similarity_low if rc.story_lexical > 0 else 1.0)
        lead = row.chunk_ids[0]
        chunks, vectors = self.store.get_chunks_with_vectors([lead])
        if lead not in vectors:
            return []
        where = None
        if row.date:
            try:
                day = date.fromisoformat(row.date[:10])
            except ValueError:
                day = None
            if day is not None:
                span = timedelta(days=rc.story_days)
                where = {"$and": [{"date_num": {"$gte": date_num((day - span).isoformat())}},
                                  {"date_num": {"$lte": date_num((day + span).isoformat())}}]}
        best: dict[str, tuple[float, str]] = {}
        for hit in self.retriever.nearest(vectors[lead], 40, where):
            other = hit.chunk.doc_id
            if other != doc_id and hit.score >= floor and hit.score > best.get(other, (-2.0, ""))[0]:
                best[other] = (hit.score, hit.chunk.chunk_id)
        shares: dict[str, float] = {}
        if best and (rc.story_lexical > 0 if lexical is None else lexical):
            shares = self.retriever.lexical_similarity(chunks[lead].text, lead, [c for _, c in best.values()])
        out = [(d, cos, shares.get(cid, 0.0)) for d, (cos, cid) in best.items()]
        return sorted(out, key=lambda t: -t[1])

    def also_reported(self, doc_id: str, stories: bool = True) -> tuple[SourceRef, ...]:
        """The other papers and dates that carried a stored story: the copies merged into
        it at ingest (syndicated or re-published), then, with ``stories``, the other
        documents on the same story (``same_story``, relation "same-story"). Each with its
        paper, date, title and URL; not the document's own."""
        row = self.manifest.doc(doc_id)
        own = {(row.site, row.url)} if row else set()
        out = []
        for s in self.manifest.sources_of(doc_id):
            if (s.site, s.url) in own or (s.relation == "original" and not (s.site or s.url)):
                continue
            out.append(SourceRef(s.source, s.relation, s.title, s.site, s.date, s.url, doc_id))
        if stories:
            for other, _ in self.same_story(doc_id):
                o = self.manifest.doc(other)
                if o is None:
                    continue
                first = next(iter(self.manifest.sources_of(other)), None)
                out.append(SourceRef(first.source if first else other, "same-story", o.title, o.site, o.date, o.url,
                                     other))
                out.extend(SourceRef(s.source, s.relation, s.title, s.site, s.date, s.url, other)
                           for s in self.manifest.sources_of(other)
                           if s.relation != "original" and (s.site, s.url) != (o.site, o.url) and (s.site or s.url))
        seen: set[tuple[str, str]] = set()
        unique = []
        for ref in out:
            if (ref.site, ref.url or ref.source) not in seen:
                seen.add((ref.site, ref.url or ref.source))
                unique.append(ref)
        return tuple(sorted(unique, key=lambda r: (r.date or "9999", r.site)))

    def timeline(self, query: str, filters: Filters | None = None, floor: float | None = None,
                 most: int = 200) -> Timeline:
        """The articles on ``query`` in date order. Every article whose best chunk has a
        cosine of at least ``floor`` (``retrieval.timeline_similarity``) with the query is
        listed, not a top k, and so is every article on the same story as one of them
        (``same_story``, one step): forty papers on one story all appear. Each comes
        with the sentence that best matches the query; articles are grouped into stories,
        merged copies under their article."""
        if not query or not query.strip():
            raise AkhbarError("the timeline query is empty")
        floor = self.cfg.retrieval.timeline_similarity if floor is None else floor
        where = filters.where(self.cfg.ingest.site_map) if filters is not None else None
        allowed = None
        if where is not None:  # what the filters let through, for the articles the stories add
            allowed = {str(m.get("doc_id", "")) for m in self.store.doc_chunk_meta(where).values()}
        vector = self.retriever.embedder.embed_query(query)
        text_of: dict[str, str] = {}
        score_of: dict[str, float] = {}
        for hit in self.retriever.nearest(vector, most, where):
            d = hit.chunk.doc_id
            if hit.score >= floor and hit.score > score_of.get(d, -1.0):
                score_of[d], text_of[d] = hit.score, hit.chunk.text
        # The stories of the articles found: their same-story neighbours.
        parent = {d: d for d in score_of}

        def root(d: str) -> str:
            while parent[d] != d:
                parent[d] = parent[parent[d]]
                d = parent[d]
            return d

        # One step from the articles found, not a closure: chains of near neighbours run from
        # one battle to the next. By the cosine alone: the names the lexical rule links by (a
        # base, a company) are shared by the next story about them.
        for d in list(score_of):
            for other, _ in self.same_story(d, lexical=False):
                if allowed is not None and other not in allowed:
                    continue
                parent.setdefault(other, other)
                parent[root(other)] = root(d)
        rows = {d: self.manifest.doc(d) for d in parent}
        added = [d for d in parent if d not in text_of and rows[d] is not None]
        if added:
            chunks = self.retriever.get_chunks([c for d in added for c in rows[d].chunk_ids])
            for d in added:
                text_of[d] = " ".join(chunks[c].text for c in rows[d].chunk_ids if c in chunks)
        order = sorted((d for d in parent if rows[d] is not None),
                       key=lambda d: (rows[d].date or "9999", -score_of.get(d, 0.0)))
        numbers: dict[str, int] = {}
        entries = []
        for d in order:
            row = rows[d]
            assert row is not None
            text = text_of.get(d, "")
            sentences = [text[a:b] for a, b in sentence_spans(text)] or [text]
            sentence = max(sentences, key=lambda s: (overlap(query, s), -abs(len(s) - 160)))
            story = numbers.setdefault(root(d), len(numbers) + 1)
            first = next(iter(self.manifest.sources_of(d)), None)
            entries.append(TimelineEntry(d, row.date, row.site, row.title, row.url, first.source if first else "",
                                         sentence.strip(), round(score_of.get(d, 0.0), 4), story,
                                         self.also_reported(d, stories=False)))
        return Timeline(query, tuple(entries), floor, sum(1 for e in entries if not e.date))
