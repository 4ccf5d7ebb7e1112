"""The ``escalation`` command line: thin commands over the library.

Commands that need scikit-learn (train, evaluate, compare) import the training package
inside the command, so ``predict`` and ``score`` start without it.
"""

from __future__ import annotations

import os
import sys
import time
from functools import wraps

import click
import orjson

from .classifier import LABELS
from .store import MODEL_ENV, ModelError, load_model


class OneLineErrors(click.Group):
    """A group whose errors, usage errors included, are one ``Error: ...`` line on stderr."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            hint = " (see --help)" if isinstance(exc, click.UsageError) else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def model_option(command):
    """``--model DIR`` (or ``$ESCALATION_MODEL``), loaded into the ``model`` argument."""

    @click.option(
        "--model",
        "model_path",
        type=click.Path(),
        envvar=MODEL_ENV,
        help=f"Model folder to use instead of the shipped one (also ${MODEL_ENV}).",
    )
    @wraps(command)
    def wrapper(*args, model_path=None, **kwargs):
        try:
            model = load_model(model_path)
        except ModelError as exc:
            raise click.ClickException(str(exc)) from None
        return command(*args, model=model, **kwargs)

    return wrapper


def read_lines(stream, name: str = "<stdin>"):
    """Yield the non-blank lines of a binary stream, failing on bytes that are not UTF-8."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise click.ClickException(f"{name}:{number}: not valid UTF-8") from None
        if line:
            yield line


def print_json(record) -> None:
    click.echo(orjson.dumps(record).decode())


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="escalation-signals")
def cli():
    """Label news sentences as diplomatic, military, civilian-preparedness or none.

    \b
    Example:
        escalation predict "Troops massed on the border."
    """


@cli.command()
@click.argument("texts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input line.")
@model_option
def predict(texts, as_json, model):
    """Label each TEXT; with none, one sentence per line from stdin.

    \b
    Examples:
        escalation predict "Troops massed on the border." "Talks resume in Geneva."
        cat sentences.txt | escalation predict --json
    """
    if not texts:
        texts = list(read_lines(sys.stdin.buffer))
    if not texts:
        return
    probabilities = model.predict_proba(texts)
    labels = [str(c) for c in model.classes_]
    for text, row in zip(texts, probabilities):
        best = int(row.argmax())
        if as_json:
            print_json({"text": text, "label": labels[best], "scores": dict(zip(labels, row.tolist()))})
        else:
            click.echo(f"{labels[best]:<22} {row[best]:.2f}  {text}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the whole card as JSON.")
@model_option
def info(as_json, model):
    """Show the model card: labels, training data, versions, evaluation.

    \b
    Example:
        escalation info --json | jq .evaluation
    """
    card = model.card
    if as_json:
        click.echo(orjson.dumps(card, option=orjson.OPT_INDENT_2).decode())
        return
    training = card.get("training", {})
    click.echo(f"labels:      {', '.join(card.get('labels', []))}")
    click.echo(f"created:     {card.get('created', '?')}")
    click.echo(f"features:    {card.get('features', '?')}")
    click.echo(f"trained on:  {training.get('rows', '?')} sentences, sha256 {training.get('sha256', '?')}")
    for label, count in training.get("rows_per_label", {}).items():
        click.echo(f"  {label:<22}{count:>6}")
    versions = ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items())
    click.echo(f"versions:    {versions}")
    for name, figures in card.get("evaluation", {}).items():
        click.echo(
            f"evaluation:  {name}: macro-F1 {figures['macro_f1']:.3f}, accuracy "
            f"{figures['accuracy']:.3f}, ECE {figures['ece']:.3f} (n={figures['n']})"
        )


@cli.command()
@click.argument("text")
@click.option("--label", type=click.Choice(LABELS), help="Explain this label instead of the predicted one.")
@click.option("--top", default=10, show_default=True, help="Terms to show each way.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@model_option
def explain(text, label, top, as_json, model):
    """Show the label of TEXT and the terms that pushed toward and away from it.

    \b
    Example:
        escalation explain "Russia denies it plans to invade Ukraine."
    """
    from .explain import explain as explain_text

    result = explain_text(model, text, label)
    if as_json:
        record = result._asdict()
        record["contributions"] = [c._asdict() for c in result.contributions]
        print_json(record)
        return
    click.echo(f"{result.label}  (probability {result.scores[result.label]:.2f}, score {result.score:+.3f})")
    click.echo("scores: " + ", ".join(f"{k} {v:.2f}" for k, v in result.scores.items()))
    toward = [c for c in result.contributions if c.weight > 0][:top]
    away = [c for c in reversed(result.contributions) if c.weight < 0][:top]
    click.echo("toward:")
    for c in toward:
        click.echo(f"  {c.weight:+.3f}  {c.term}")
    click.echo("away:")
    for c in away:
        click.echo(f"  {c.weight:+.3f}  {c.term}")
    click.echo(f"intercept: {result.intercept:+.3f}")


@cli.command()
@click.option("--label", type=click.Choice(LABELS), help="Only this label (default: all).")
@click.option("--top", default=15, show_default=True, help="Terms per label.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per label.")
@model_option
def features(label, top, as_json, model):
    """List the strongest terms for each label.

    \b
    Example:
        escalation features --label military --top 20
    """
    from .explain import top_features

    for name in [label] if label else [str(c) for c in model.classes_]:
        terms = top_features(model, name, top)
        if as_json:
            print_json({"label": name, "terms": [c._asdict() for c in terms]})
        else:
            click.echo(f"{name}:")
            for c in terms:
                click.echo(f"  {c.weight:+.3f}  {c.term}")


@cli.command()
@click.argument("data", nargs=-1, type=click.Path())
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(), help="Model folder to write.")
@click.option("--no-base", is_flag=True, help="Train on DATA alone, without the shipped corpus.")
@click.option("--on-conflict", type=click.Choice(["error", "last", "drop"]), default="error",
              show_default=True, help="What to do with a text given two different labels.")
@click.option("--C", "C", type=float, default=10.0, show_default=True, help="Inverse regularisation strength.")
@click.option("--ngram-max", type=click.IntRange(1, 4), default=2, show_default=True, help="Longest word n-gram.")
@click.option("--min-df", type=click.IntRange(1), default=2, show_default=True, help="Minimum document frequency of a term.")
@click.option("--class-weight", type=click.Choice(["balanced", "none"]), default="balanced", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the cross-validation folds.")
@click.option("--folds", type=click.IntRange(2), default=5, show_default=True, help="Grouped cross-validation folds.")
@click.option("--eval", "eval_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled file to evaluate on for the model card (repeatable).")
def train(data, out_dir, no_base, on_conflict, C, ngram_max, min_df, class_weight, seed, folds, eval_files):
    """Train a model on labelled DATA (CSV or JSON Lines with text,label) plus the shipped corpus.

    \b
    Example:
        escalation train my_labels.csv -o my-model
        escalation compare held_out.csv --model old-model --model my-model
    """
    from escalation_training.corpus import ValidationError, load_dataset
    from escalation_training.fit import TrainOptions, train as fit_model

    progress = (lambda message: click.echo(message, err=True)) if sys.stderr.isatty() else (lambda m: None)
    if not data and no_base:
        raise click.UsageError("nothing to train on: give DATA or drop --no-base")
    try:
        progress("validating")
        dataset = load_dataset(list(data), include_base=not no_base, on_conflict=on_conflict)
        eval_sets = {}
        for path in eval_files:
            held_out = load_dataset([path], include_base=False, on_conflict="last", require_every_label=False)
            eval_sets[click.format_filename(path)] = (held_out.texts, held_out.labels)
    except ValidationError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) in the data; nothing was trained") from None
    options = TrainOptions(C=C, ngram_max=ngram_max, min_df=min_df,
                           class_weight=None if class_weight == "none" else class_weight,
                           seed=seed, folds=folds)
    card = fit_model(dataset, out_dir, options, eval_sets=eval_sets, progress=progress)
    cv = card["evaluation"]["cross_validation"]
    click.echo(
        f"wrote {out_dir}: {card['training']['rows']} sentences, grouped CV macro-F1 "
        f"{cv['macro_f1']:.3f}, ECE {cv['ece']:.3f}"
    )
    for name, figures in card["evaluation"].items():
        if name != "cross_validation":
            click.echo(f"{name}: macro-F1 {figures['macro_f1']:.3f}, ECE {figures['ece']:.3f}")


@cli.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@model_option
def evaluate(data, as_json, model):
    """Evaluate the model on labelled DATA (CSV or JSON Lines with text,label).

    \b
    Example:
        escalation evaluate held_out.csv --json
    """
    from escalation_training import evaluate as metrics
    from escalation_training.corpus import ValidationError, load_dataset

    try:
        dataset = load_dataset([data], include_base=False, on_conflict="last", require_every_label=False)
    except ValidationError as exc:
        raise click.ClickException("; ".join(exc.problems[:3])) from None
    figures = metrics.evaluate(model, dataset.texts, dataset.labels)
    if as_json:
        print_json(figures)
    else:
        click.echo(metrics.format_report(figures, title=click.format_filename(data)))


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", "out", type=click.Path(),
              help="Write sentence records here (default: stdout); with --engine dask, a folder.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "text", "feed"]),
              help="Input format (default: from each extension; folders are text, - is jsonl).")
@click.option("--output-format", type=click.Choice(["jsonl", "csv", "table"]), default="jsonl", show_default=True,
              help="table: one human-readable line per sentence.")
@click.option("--summary", type=click.Path(dir_okay=False), help="Write one JSON line per article here.")
@click.option("--errors", type=click.Path(dir_okay=False), help="Write rejected records here (default: stderr).")
@click.option("--id-field", default="id", show_default=True, help="JSON Lines/CSV field with the article id.")
@click.option("--text-field", default="text", show_default=True, help="JSON Lines/CSV field with the text.")
@click.option("--date-field", default="date", show_default=True, help="JSON Lines/CSV field with the date.")
@click.option("--date", help="Date for plain-text articles.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Report a sentence as none when its top signal score is below this.")
@click.option("--jobs", type=click.IntRange(1), default=os.cpu_count() or 1, show_default="all cores",
              help="Worker processes.")
@click.option("--resume", is_flag=True, help="Complete an interrupted run into OUT.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: score on a Dask cluster into part files in the folder OUT (the dask extra).")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: a running Dask scheduler (default: a local cluster of --jobs workers).")
@click.option("--model", "model_path", type=click.Path(), envvar=MODEL_ENV,
              help=f"Model folder to use instead of the shipped one (also ${MODEL_ENV}).")
def score(inputs, out, fmt, output_format, summary, errors, id_field, text_field, date_field, date,
          min_score, jobs, resume, engine, scheduler, model_path):
    """Split articles into sentences and label every sentence.

    INPUT is a JSON Lines, CSV, .txt or RSS/Atom file, a folder of .txt files, or - for
    JSON Lines on stdin. Exit code 0: every record scored; 3: some records rejected (listed
    in --errors); 1: an input or the model could not be read.

    \b
    Examples:
        escalation score articles.jsonl -o sentences.jsonl --summary articles.jsonl
        escalation score seeds/ --output-format table
        cat feed.jsonl | escalation score - --jobs 1 > out.jsonl
        escalation score archive/*.jsonl -o scored/ --engine dask --scheduler tcp://scheduler:8786
    """
    from .batch import EXIT_REJECTED, ResumeError, Settings, run
    from .readers import Fields, InputError

    settings = Settings(list(inputs), fmt, Fields(id_field, text_field, date_field), date,
                        min_score, output_format, model_path)
    if engine == "local" and scheduler:
        raise click.UsageError("--scheduler needs --engine dask")
    if engine == "local" and out and os.path.isdir(out):
        raise click.UsageError(f"-o {out}: is a folder; only --engine dask writes to a folder")
    show = _progress_printer() if sys.stderr.isatty() else None
    try:
        if engine == "dask":
            stats = _score_on_dask(settings, out, summary, errors, scheduler, jobs, resume, show)
        else:
            stats = run(settings, out, summary, errors, jobs=jobs, resume=resume, progress=show)
    except (InputError, ModelError, ResumeError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        hint = "; run the same command with --resume to finish" if out else ""
        raise click.ClickException(f"interrupted{hint}") from None
    if show:
        click.echo(err=True)
    click.echo(stats.line(), err=True)
    if stats.records_rejected:
        sys.exit(EXIT_REJECTED)


def _score_on_dask(settings, out, summary, errors, scheduler, jobs, resume, show):
    """``score --engine dask``: part files in the folder ``out``; Dask is imported only here."""
    if not out:
        raise click.UsageError("--engine dask needs -o OUT_DIR")
    try:
        from .dask_engine import EngineError, score_to_folder
    except ImportError as exc:
        raise click.ClickException(f"--engine dask needs the dask extra: pip install 'escalation-signals[dask]' ({exc})") from None
    try:
        return score_to_folder(settings, out, summary, errors, scheduler=scheduler, workers=jobs,
                               resume=resume, progress=show)
    except EngineError as exc:
        raise click.ClickException(str(exc)) from None


def _progress_printer():
    started = time.monotonic()

    def show(stats):
        rate = stats.sentences_scored / max(time.monotonic() - started, 1e-9)
        click.echo(f"\r{stats.articles_read} articles, {stats.sentences_scored} sentences ({rate:,.0f}/s)",
                   err=True, nl=False)

    return show


@cli.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_paths", multiple=True, type=click.Path(),
              help="A model folder; give it twice: the current model (A), then the candidate (B).")
@click.option("--show", type=click.IntRange(0), default=10, show_default=True,
              help="How many sentences the models disagree on to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(data, model_paths, show, as_json):
    """Compare two models on labelled DATA (CSV or JSON Lines with text,label).

    Per-label precision, recall and F1, macro-F1, accuracy and calibration error of both,
    side by side with the differences; McNemar's test on the paired right/wrong outcomes,
    with a verdict; and the first --show sentences the two label differently.

    \b
    Example:
        escalation compare held_out.csv --model model/default --model my-model
    """
    from escalation_training.compare import compare as compare_models, format_comparison
    from escalation_training.corpus import ValidationError, load_dataset

    if len(model_paths) != 2:
        raise click.UsageError(f"give --model exactly twice, A then B (got {len(model_paths)})")
    try:
        model_a, model_b = (load_model(path) for path in model_paths)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        dataset = load_dataset([data], include_base=False, on_conflict="last", require_every_label=False)
    except ValidationError as exc:
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise click.ClickException(f"{exc.problems[0]}{more}") from None
    result = compare_models(model_a, model_b, dataset.texts, dataset.labels, show=show)
    if as_json:
        print_json({"data": click.format_filename(data), "model_a": model_paths[0],
                    "model_b": model_paths[1], **result})
    else:
        click.echo(format_comparison(result, *model_paths))


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-n", "count", type=click.IntRange(1), default=50, show_default=True,
              help="How many sentences to suggest.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="CSV file to write (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "text", "feed"]),
              help="Input format (default: from each extension; folders are text, - is jsonl).")
@click.option("--id-field", default="id", show_default=True, help="JSON Lines/CSV field with the article id.")
@click.option("--text-field", default="text", show_default=True, help="JSON Lines/CSV field with the text.")
@model_option
def suggest(inputs, count, out, fmt, id_field, text_field, model):
    """Write the sentences the model is least sure of, to label next and train on.

    INPUT is anything `score` reads (JSON Lines, CSV, .txt files or folders, RSS/Atom, -
    for JSON Lines on stdin); a .txt file of one sentence per line gives one sentence per
    line. The -n sentences with the smallest margin between the model's top two labels,
    no two near-duplicates, are written as CSV: id, text, the model's guess, margin, an
    empty label and context (the article id). Fill in label and pass the file to
    `escalation train`. Rejected records go to stderr as JSON lines, and the exit code is
    then 3.

    \b
    Example:
        escalation suggest articles.jsonl -n 50 -o to_label.csv
        escalation train to_label.csv -o my-model      # after filling in the label column
    """
    import io

    from .readers import Fields, InputError, read_inputs
    from .suggest import suggest as pick_uncertain, write_csv, write_csv_file

    def report(record):
        click.echo(orjson.dumps(record.to_dict()).decode(), err=True)

    if out != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(out))):
        raise click.ClickException(f"{out}: no such folder to write into")  # before reading it all
    records = read_inputs(list(inputs), fmt, Fields(id=id_field, text=text_field))
    try:
        chosen = pick_uncertain(model, records, count, on_rejected=report)
    except (InputError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if out == "-":
        buffer = io.StringIO(newline="")
        write_csv(chosen.candidates, buffer)
        click.echo(buffer.getvalue(), nl=False)
    else:
        try:
            write_csv_file(chosen.candidates, out)
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write ({exc.strerror or exc})") from None
    click.echo(
        f"articles read {chosen.articles}, sentences scored {chosen.sentences}, records rejected "
        f"{chosen.rejected}; {len(chosen.candidates)} sentences to label in {click.format_filename(out)}",
        err=True,
    )
    if chosen.rejected:
        sys.exit(3)


@cli.command()
@click.argument("scored", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write index.html and trend.png into (created if missing).")
@click.option("--by", type=click.Choice(["day", "week"]), default="week", show_default=True,
              help="Period of the trend; weeks are ISO weeks, Monday to Sunday.")
@click.option("--group", type=click.Choice(["source"]), help="One panel and one table per source (needs --summary).")
@click.option("--summary", type=click.Path(exists=True, dir_okay=False),
              help="The --summary file of the same `escalation score` run: adds titles and sources.")
def report(scored, out_dir, by, group, summary):
    """Build an HTML report of escalation over time from the output of `escalation score`.

    SCORED is the sentence output (JSON Lines). The report is OUT/index.html, which opens
    from disk with the picture embedded, and OUT/trend.png. Articles without a date are
    left out of the trend and counted as undated. Prints the path of index.html.

    \b
    Example:
        escalation score feed.jsonl -o sentences.jsonl --summary articles.jsonl
        escalation report sentences.jsonl --summary articles.jsonl -o report/ --group source
    """
    from .report import ReportError, write_report

    if group and not summary:
        raise click.UsageError(f"--group {group} needs --summary: the sources are in the summary file")
    try:
        page, result = write_report(scored, out_dir, by=by, summary=summary, group=group)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or out_dir}: cannot write ({exc.strerror or exc})") from None
    click.echo(
        f"{result.articles} articles ({result.undated} undated), {result.sentences} sentences, "
        f"{len(result.periods)} {by}s",
        err=True,
    )
    click.echo(click.format_filename(page))


if __name__ == "__main__":
    cli()
