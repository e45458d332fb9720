"""``akhbar models``, ``eval``, ``calibrate`` and ``train-reader``: the packaged models, the
measurements, the fitted answer thresholds and the taught reader. These commands only
parse, call and print; the work is in ``rag.models``, ``rag.eval``, ``rag.calibrate`` and
``rag.teach``, imported inside each command so ``akhbar --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.cli.common import err, load_config
from rag.config import Config


def cmd_models(args: argparse.Namespace) -> int:
    from rag import models

    cfg = load_config(args)
    if args.action == "ollama-create":
        return cmd_ollama_create(args, cfg)
    if args.action == "prepare":
        done = models.prepare(cfg, include_small=args.small, progress=err)
        for name, path in done.items():
            print(f"{name}: {path}")
        if not args.no_prime:
            prime(cfg)
        return 0
    st = models.status(cfg)
    if args.json:
        print(json.dumps(st, indent=2))
        return 0
    emb = st["embedding"]
    print(f"models dir: {st['models_dir']}")
    print(f"embedding  {emb['name']}: {'ready' if emb['ready'] else 'NOT PREPARED'} ({emb['path']})")
    if "onnx" in emb:
        onnx = emb["onnx"]
        print(f"  onnx     {'ready' if onnx['ready'] else 'NOT PREPARED: ' + str(onnx['problem'])} ({onnx['path']})")
    for name, info in st["llm"].items():
        mark = " (configured)" if info.get("configured") else ""
        print(f"llm        {name}{mark}: {'ready' if info['ready'] else 'NOT PREPARED'} ({info['path']})")
    ad = st["adapter"]
    if ad["path"]:
        state = "loaded by the reader" if ad["active"] else "NOT USED"
        print(f"adapter    {ad['setting']}: {state} ({ad['path']})")
        if "sha256" in ad:
            match = "yes" if ad["matches_base"] else "NO"
            print(f"           sha256 {ad['sha256']}, {ad['size_bytes'] / 1e6:.1f} MB, rank {ad['rank']}")
            print(f"           trained on base sha256 {ad['base_sha256']}; matches the configured GGUF: {match}")
        if ad.get("problem"):
            print(f"           {ad['problem']}")
    else:
        print(f"adapter    {ad['setting']}: none")
    missing = not emb["ready"] or not any(i["ready"] for i in st["llm"].values() if i.get("configured"))
    return 1 if missing else 0


def prime(cfg: Config) -> None:
    """What a first question would build and keep for the next process (the copy
    vocabulary, each language's reader instruction read into a saved KV state), built now in
    the data home, so that the first question after set-up costs what a later one does."""
    from rag.akhbar import Akhbar

    bot = Akhbar(cfg)
    if bot.selection.llm is None or bot.selection.llm.backend != "llamacpp":
        return
    seconds = sum(bot.warm(language) for language in ("ar", "en"))
    print(f"reader primed in {seconds:.1f}s: {cfg.home / 'cache'}")


def cmd_ollama_create(args: argparse.Namespace, cfg: Config) -> int:
    from rag.llm import create_ollama_model

    adapter = Path(args.adapter) if args.adapter else cfg.llm_adapter_path
    if adapter is None:
        err("akhbar: no adapter: give --adapter PATH or set llm.adapter")
        return 1
    modelfile = create_ollama_model(cfg, adapter, args.name, base=args.base, progress=err)
    print(f"created Ollama model {args.name} (FROM {args.base or cfg.llm.ollama_model} + ADAPTER {adapter.name})")
    print(f"Modelfile written to {modelfile}")
    print(f"use it with: AKHBAR_LLM_OLLAMA_MODEL={args.name} (or llm.ollama_model in the config)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag import eval as ev

    cfg = load_config(args)
    if args.file.endswith(".jsonl"):
        files = [Path(args.file), *(Path(f) for f in args.more)]
        result = ev.run_qa(cfg, files, args.corpus or [], split=args.split or "report",
                           home=Path(args.eval_home) if args.eval_home else None,
                           limit=0 if args.limit == 200 else args.limit, progress=None if args.quiet else err,
                           twins=args.twins)
        print(ev.format_qa_table(result))
    else:
        result = ev.run(cfg, Path(args.file), limit=args.limit, seed=args.seed, holdout=args.holdout,
                        retrieval_only=args.retrieval_only, split=args.split or "all",
                        progress=None if args.quiet else err)
        print(ev.format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"(written to {args.json})")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from rag.calibrate import calibrate, write_settings

    cfg = load_config(args)
    if args.confidence:
        return _calibrate_confidence(args, cfg)
    if args.ranker:
        return _calibrate_ranker(args)
    result = calibrate(cfg, [Path(f) for f in args.files], args.corpus or [],
                       home=Path(args.eval_home) if args.eval_home else None, progress=None if args.quiet else err)
    print(f"calibration split: {result['questions']} questions, {result['extractive']} read by copying")
    for key, value in result["settings"].items():
        print(f"  {key} = {value}")
    if args.write:
        target = Path(args.config) if args.config else cfg.home / "akhbar.toml"
        write_settings(target, result["settings"])
        print(f"written to {target}")
    return 0


def _calibrate_confidence(args: argparse.Namespace, cfg: Config) -> int:
    from rag.answer.decide import MODEL_PATH
    from rag.calibrate import confidence_rows, fit_confidence, write_settings

    rows = confidence_rows([Path(f) for f in args.files])
    fitted = fit_confidence(rows, precision=args.precision,
                            threshold_on=[str(Path(f)) for f in args.threshold_on or ()])
    out = Path(args.model_out) if args.model_out else MODEL_PATH
    record = {"fitted_on": [str(f) for f in args.files], **fitted}
    out.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    oof = fitted["out_of_fold"]
    print(f"{fitted['spans']} copied spans ({fitted['right']} right), {fitted['passed']} let through by the checks"
          + (f" in {', '.join(args.threshold_on)}" if args.threshold_on else ""))
    print(f"model written to {out}")
    threshold = fitted["min_confidence"]
    if threshold is None:
        print(f"no threshold holds short-answer precision {args.precision:.2f} out of fold")
    else:
        print(f"  answer.min_confidence = {threshold}  (out of fold: precision {oof['precision']:.3f}, "
              f"{oof['kept']} answers, {oof['coverage_of_passed']:.2f} of the spans let through)")
    if args.write and threshold is not None:
        target = Path(args.config) if args.config else cfg.home / "akhbar.toml"
        write_settings(target, {"min_confidence": threshold})
        print(f"written to {target}")
    return 0


def _calibrate_ranker(args: argparse.Namespace) -> int:
    from rag.answer.rank import RANKER_PATH
    from rag.calibrate import fit_ranker, ranker_rows

    fitted = fit_ranker(ranker_rows([Path(f) for f in args.files]))
    out = Path(args.model_out) if args.model_out else RANKER_PATH
    record = {"fitted_on": [str(f) for f in args.files], **fitted}
    out.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    oof = fitted["out_of_fold"]
    print(f"{fitted['questions']} questions with candidates "
          f"({fitted['candidates']} candidates, {fitted['right']} right)")
    print(f"out of fold, of the {oof['some_candidate_right']} questions where some candidate is right: the copy is "
          f"right for {oof['copy_right']}, the ranker's choice for {oof['ranker_right']}")
    print(f"ranker written to {out}")
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    from rag import teach

    cfg = load_config(args)
    data = [Path(f) for f in args.data] if args.data is not None else sorted(teach.DATA_DIR.glob("*.jsonl"))
    arcd = None if args.no_arcd else Path(args.arcd)
    info = teach.run(cfg, Path(args.out), data_files=data, corpus_dir=Path(args.corpus), arcd=arcd,
                     arcd_limit=args.arcd_limit, cloze=args.cloze, withhold_share=args.withhold,
                     epochs=args.epochs, limit=args.limit, rank=args.rank,
                     alpha=args.alpha, lr=args.lr, accumulate=args.accumulate, seed=args.seed,
                     base=Path(args.base) if args.base else None, examples_only=args.examples_only,
                     dtype=args.dtype, log=err)
    if info is None:
        return 0
    print(f"adapter   {info.path}")
    print(f"sha256    {info.sha256}")
    print(f"base      sha256 {info.base_sha256}")
    print(f"card      {Path(info.path).with_suffix('.md')}")
    return 0
