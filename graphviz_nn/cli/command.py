"""The `nngraph` command: parse options, call the library, print. Thin on purpose."""
from __future__ import annotations

import errno
import os
import sys
import traceback
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import click

from .. import __version__, budget, engine
from ..explain import diagnostics, paths, report
from ..explain.captions import Captions
from ..errors import (INTERNAL_ERROR, UserError, json_safe, normal_name, readable_line,
                      terminal_lines)
from ..trace.builder import DEFAULT_MAX_NODES
from ..explain.answers import check_answers
from ..explain.gradcheck import DEFAULT_TOLERANCE, MAX_CHECKED, check_gradients, kinked_gates
from ..numfmt import fmt_value, number_style
from ..render.dot import DEFAULT_MAX_DRAWN
from ..render.export import RenderOptions, render, render_many
from ..render.files import folder_name
from ..trace.expr import MAX_LENGTH
from ..trace.program import read_program
from ..trace.statements import statement_graph
from .expect import parse_answers
from .signals import Interrupted, signals_as_exceptions
from .values import parse_assignments, parse_number_or_matrix

OK, NUMERIC_TROUBLE = 0, 1
KINK_LINES = 5           # kink sentences printed per variable, and gates at kinks

EXAMPLES = """
\b
Examples:
  nngraph "x**2+x*y+(x+y)**2" --at x=1,y=2
  nngraph "(x+y)*z" --at x=-2,y=5,z=-4 --explain x --check
  nngraph "sigmoid(w0*x0+w1*x1+w2)" --at w0=2,x0=-1,w1=-3,x1=-2,w2=-3 --expand
  nngraph "relu(X@W1)@W2" --at "X=[[1,2],[-1,2]]" --at "W1=[[1,-1],[0.5,0]]" --at "W2=[[0.5],[1]]"
  nngraph "x**2+x*y" --at x=1,y=2 --json
  nngraph "sum(maxpool(conv2d(X, K)))" --at "X=[[3,3,2,1],[0,0,1,3],[3,1,2,2],[3,1,2,2]]" --at "K=[[0,1],[2,2]]" --view grid
  nngraph examples/nets/25_relu_regression.toml --view neurons --plots

\b
Exit status: 0 ok; 1 a gradient check failed, an --expect answer is wrong, or a value
or gradient is nan/inf; 2 bad input (or over a limit: docs/limits.md); 3 Graphviz missing
or failing; 4 internal error (a bug in nngraph: please report it); 128+n ended by signal n
(Ctrl-C 130), the files as they were.
"""


@dataclass
class Options:
    """What the command line asked for (the click options, by name)."""
    source: str
    render_options: object
    at: tuple = ()
    const: tuple = ()
    json: bool = False
    render: bool = True
    explain: tuple = ()
    check: bool = False
    tolerance: float = DEFAULT_TOLERANCE
    seed: str | None = None
    expand: bool = False
    const_nodes: bool = False
    precision: int = 4
    fractions: bool = False
    output: str | None = None
    force: bool = False
    max_nodes: int = DEFAULT_MAX_NODES
    max_length: int = MAX_LENGTH
    debug: bool = False
    expect: tuple = ()
    draw: str | None = None
    view: str | None = None
    plots: bool = False
    summary: bool = False
    max_steps: int | None = None
    max_numbers: int = budget.DEFAULT_MAX_NUMBERS
    max_work: int = budget.DEFAULT_MAX_WORK
    max_spec_bytes: int | None = None


@click.command(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"],
                                                  "max_content_width": 100})
@click.argument("source")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE,…",
              help='Values of the inputs: --at x=1,y=2; matrices as --at "X=[[1,2],[-1,2]]". Repeatable.')
@click.option("--const", "const", multiple=True, metavar="NAME,…",
              help="Inputs that are data (a target, a mask): no gradient is computed, listed or drawn "
                   "for them. Repeatable.")
@click.option("--json", "json_", is_flag=True, help="Print the JSON document (DESIGN.md) instead of the table.")
@click.option("--no-render", is_flag=True, help="Print the numbers only; write no pictures.")
@click.option("--explain", multiple=True, metavar="NAME",
              help="Spell out ∂out/∂NAME as the sum over all paths of products of local derivatives.")
@click.option("--check", is_flag=True, help="Compare every gradient with central finite differences; exit 1 on a mismatch.")
@click.option("--expect", multiple=True, metavar="NAME=VALUE,…",
              help='Check your own answers: --expect "f=12, df/dx=10, df/dy=7" prints ✓ or ✗ with the '
                   "right number, marks wrong ones in the picture and exits 1 if any is wrong.")
@click.option("--tol", "tolerance", type=click.FloatRange(min=0, max=1e300), default=DEFAULT_TOLERANCE,
              show_default=True, callback=lambda ctx, param, v: not_nan(v, "--tol"),
              help="Largest relative error --check accepts.")
@click.option("--seed", metavar="VALUE", help="Upstream gradient at the output (default 1, or ones for arrays).")
@click.option("--expand", is_flag=True, help="Break composite gates into primitives: σ → *−1, exp, +1, 1/x; "
                                              "in a spec, draw recurrent cells gate by gate (LSTM i, f, g, o).")
@click.option("--const-nodes", is_flag=True, help="Draw literal constants as nodes instead of gate parameters.")
@click.option("--precision", type=click.IntRange(1, 17), default=4, show_default=True,
              help="Significant digits of the numbers shown.")
@click.option("--fractions", is_flag=True, help="Show exact small fractions as fractions (1/32).")
@click.option("-o", "--output", metavar="DIR", help="Output folder (default outputs/<name>, replaced whole).")
@click.option("--force", is_flag=True, help="Write even where a folder nngraph did not write is in the "
              "way: that folder is kept, renamed DIR.kept-…/, never deleted.")
@click.option("--format", "formats", default="svg", show_default=True, metavar="LIST",
              help="Formats of graph.* and frames: any of svg,png,pdf (pdf adds frames.tex for beamer).")
@click.option("--no-gif", is_flag=True, help="Do not write backprop.gif.")
@click.option("--no-frames", is_flag=True, help="Write graph.* only: no frames, GIF or player.")
@click.option("--frames", "frame_policy", type=click.Choice(["auto", "per-gate", "per-level", "none"]),
              default="auto", show_default=True,
              help="One frame per gate, or per topological level (auto: per level above 80 steps).")
@click.option("--worksheet", type=click.Choice(["grads", "values", "all"]), is_flag=False, flag_value="grads",
              default=None, help="Also write worksheet.svg/.pdf with numbered blank boxes for the gradients "
                                 "(or the values, or all), key.svg/.pdf and answers.txt, ready to print.")
@click.option("--theme", type=click.Choice(["light", "dark"]), default="light", show_default=True)
@click.option("--transparent", is_flag=True, help="Transparent background (SVG, PNG, PDF; not the GIF).")
@click.option("--rankdir", type=click.Choice(["LR", "TB"]), default="LR", show_default=True,
              help="Left to right or top to bottom.")
@click.option("--dpi", type=click.IntRange(36, 600), default=110, show_default=True,
              help="Resolution of the GIF and PNG pictures.")
@click.option("--slide", is_flag=True, help="Fit the picture to a 16:9 slide (13.33 × 7.5 in).")
@click.option("--max-draw", type=click.IntRange(1), default=DEFAULT_MAX_DRAWN, show_default=True,
              help="Refuse to draw graphs with more nodes than this (Graphviz would take minutes).")
@click.option("--max-nodes", type=click.IntRange(1), default=DEFAULT_MAX_NODES, show_default=True,
              help="Refuse graphs with more nodes than this.")
@click.option("--max-length", type=click.IntRange(1), default=MAX_LENGTH, show_default=True,
              help="Refuse expressions longer than this many characters.")
@click.option("--max-numbers", type=click.IntRange(1), default=budget.DEFAULT_MAX_NUMBERS, show_default=True,
              help="Memory: refuse inputs whose values (every intermediate result; a spec's kept passes) "
                   "would hold more numbers than this.")
@click.option("--max-work", type=click.IntRange(1), default=budget.DEFAULT_MAX_WORK, show_default=True,
              help="Time: refuse inputs that would take more arithmetic operations than this "
                   "(matrix sizes × training steps, --check included).")
@click.option("--max-spec-bytes", type=click.IntRange(1), default=None,
              help="Network specs: refuse spec files larger than this (default 2,000,000).")
@click.option("--view", type=click.Choice(["layers", "neurons", "grid", "statements"]), default=None,
              help="Network specs: one node per matrix (layers, the default), or one node per neuron and "
                   "one edge per weight. grid: matrices drawn as number grids, conv and pool gates window "
                   "by window (formulas and programs; specs with conv or pool layers). statements "
                   "(programs): one box per named statement with its value and gradient, the shares "
                   "of gradients that add up beside their edges — compact enough for a slide.")
@click.option("--draw", metavar="STEPS", default=None,
              help='Network specs: the training steps drawn, e.g. "1-3,last" (the default), "every 10", '
                   '"all". The others keep their numbers (JSON, plots).')
@click.option("--plots", is_flag=True, help="Network specs: loss per step, ‖d‖ per layer, activations (PNG, SVG).")
@click.option("--summary", is_flag=True,
              help="Network specs: print a table of the layers (output shape, parameters with their formula, "
                   "receptive field) and the total, instead of running; works from input_shape alone.")
@click.option("--max-steps", type=click.IntRange(1), default=None,
              help="Network specs: refuse [train] steps above this (default 10,000).")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.version_option(__version__, prog_name="nngraph")
def command(source, json_, no_render, formats, no_gif, no_frames, frame_policy, theme, transparent,
            rankdir, dpi, slide, max_draw, worksheet, **flags):
    """Draw the computation graph of SOURCE with the forward value over every edge and the
    gradient under it, step by step.

    SOURCE is an expression in Python syntax: numbers, names, + - * / ** @, parentheses,
    indexing X[1, 2], X[:, 0] and calls of the functions (docs/programs.md lists them, with
    their keywords axis, stride, padding, size). It is parsed, never run. Or a program:
    statements `name = expression` separated by ; or newlines, each name labelling its node;
    a path ending in .nn holds one, with # comments and `## title` lines grouping statements
    (docs/programs.md). A path ending in .toml is a network spec (docs/networks.md): layers,
    loss and training steps.
    """
    render_options = RenderOptions(formats=parse_formats(formats), gif=not (no_gif or no_frames),
                                   frames="none" if no_frames else frame_policy, html=not no_frames,
                                   theme=theme, transparent=transparent, rankdir=rankdir, dpi=dpi,
                                   slide=slide, force=flags["force"], max_draw=max_draw, worksheet=worksheet)
    options = Options(source, render_options, json=json_, render=not no_render, **flags)
    with number_style(options.precision, options.fractions), warnings.catch_warnings():
        if not options.debug:     # numpy's RuntimeWarnings and the like: our own warning: lines say what matters
            warnings.simplefilter("ignore")
        sys.exit(run(options))


def run(options: Options) -> int:
    if options.json:
        refuse_options(options, NOT_WITH_JSON, ("prints lines of its own; --json prints only the JSON document",
                                                "print lines of their own; --json prints only the JSON document"),
                       hint="run them without --json")
    if is_spec_file(options.source):
        return run_network_spec(options)
    refuse_options(options, SPEC_ONLY, ("applies to network specs (.toml), not to formulas",
                                        "apply to network specs (.toml), not to formulas"),
                   hint="give a spec file, or leave them out")
    from ..api import build
    values = {}
    for text in options.at:
        given = parse_assignments(text)
        for name in given:
            if name in values:
                raise UserError(f"--at: {name} is given twice", hint="give each name one value")
        values.update(given)
    seed = parse_number_or_matrix(options.seed, "--seed") if options.seed else None
    answers = [a for text in options.expect for a in parse_answers(text)]
    source = read_program(options.source, options.max_length) if is_program_file(options.source) \
        else options.source
    constants = [name.strip() for text in options.const for name in text.split(",") if name.strip()]
    graph = build(source, values, expand=options.expand, keep_constants=options.const_nodes,
                  constants=constants, max_nodes=options.max_nodes, max_length=options.max_length)
    if options.view == "statements":        # a program a statement at a time: one box per name
        graph = statement_graph(graph)
    checks = budget.check_forward_passes(graph, MAX_CHECKED) if options.check else 0
    budget.check_formula(graph, options.max_numbers, options.max_work, checks, options.json)
    steps = engine.run(graph, seed)
    grid = formula_grid_view(graph, None if options.view == "statements" else options.view)
    verdicts = check_answers(graph, answers)      # names checked before anything is printed
    if options.json:       # --check, --explain and --expect were refused with --json: no answers here
        echo_json(report.dumps(report.document(graph.source, graph.kind, [report.graph_pass(graph)])))
        failed = wrong = []
    else:
        table = report.node_table(graph)
        echo_lines((table + [""] if table else []) + report.gradient_lines(graph))
        for name in options.explain:
            echo_lines([""] + paths.explain_paths(graph, normal_name(name)))
        failed = echo_check(graph, options) if options.check else []
        wrong = echo_answers(verdicts, options) if verdicts else []
    status = status_of(graph, failed + wrong, options)
    if options.render:
        scene = report.scene(graph, steps, Captions(graph, steps), marked={v.node for v in wrong}, grid=grid)
        echo_rendered(render(scene, output_folder(options), options.render_options), err=options.json)
    return status


def formula_grid_view(graph, view: str | None) -> bool:
    """--view on a formula or program: grid or nothing (layers and neurons are a spec's views)."""
    if view in ("layers", "neurons"):
        raise UserError(f"--view {view} applies to network specs (.toml), not to formulas",
                        hint="formulas and programs are drawn gate by gate, or with --view grid (matrices "
                             "as number grids) or --view statements (a box per named statement)")
    from ..api import grid_view
    return grid_view(graph, view)


def echo_answers(verdicts: list, options: Options) -> list:
    """--expect: ✓ or ✗ for each of the user's numbers; returns the wrong ones."""
    echo("\nyour answers (right when the exact number rounds to what you wrote):")
    echo_lines([v.line() for v in verdicts])
    wrong = [v for v in verdicts if not v.right]
    echo(f"  {len(verdicts) - len(wrong)} of {len(verdicts)} right" +
         ("; the wrong ones are marked in the picture" if wrong and options.render else ""))
    return wrong


def is_spec_file(source: str) -> bool:
    return source.lower().endswith(".toml") and "\n" not in source


def is_program_file(source: str) -> bool:
    return source.lower().endswith(".nn") and "\n" not in source


FORMULA_ONLY = {"at": "--at", "const": "--const", "explain": "--explain", "check": "--check", "seed": "--seed",
                "expand": "--expand", "const_nodes": "--const-nodes", "expect": "--expect"}
ALSO_RECURRENT = ("expand",)     # a spec's recurrent cells, gate by gate (run_spec refuses it elsewhere)
SPEC_ONLY = {"draw": "--draw", "plots": "--plots", "max_steps": "--max-steps", "max_spec_bytes": "--max-spec-bytes",
             "summary": "--summary"}
NOT_WITH_JSON = {"explain": "--explain", "check": "--check", "expect": "--expect"}
NOT_WITH_SUMMARY = {"draw": "--draw", "plots": "--plots", "view": "--view", "expand": "--expand"}


def not_nan(value: float, option: str) -> float:
    if value != value:
        raise click.BadParameter("nan is not a tolerance", param_hint=option)
    return value


def refuse_options(options: Options, names: dict, why: tuple[str, str], hint: str) -> None:
    """One error naming the options given that do not apply here (rather than ignoring them);
    why: the reason for one option and for several."""
    given = [flag for field, flag in names.items() if getattr(options, field) not in (None, False, ())]
    if given:
        raise UserError(f"{', '.join(given)} {why[len(given) > 1]}", hint=hint)


def run_network_spec(options: Options) -> int:
    """`nngraph net.toml`: a layer stack, one pass per training step, each pass drawn in step###/."""
    refuse_options(options, {k: v for k, v in FORMULA_ONLY.items() if k not in ALSO_RECURRENT},
                   ("applies to formulas, not to network specs",
                                           "apply to formulas, not to network specs"),
                   hint="a spec's values come from its [data] and [[layer]] tables (docs/networks.md)")
    if options.view == "statements":
        raise UserError("--view statements applies to formulas and programs, not to network specs",
                        hint="a spec's views are layers (one node per matrix), neurons and grid")
    from ..network.run import DEFAULT_DRAW, MAX_STEPS, run_spec    # the network front end when used
    from ..network import summary
    from ..network.spec import SummaryOnly
    if options.summary:
        refuse_options(options, NOT_WITH_SUMMARY, ("does nothing with --summary", "do nothing with --summary"),
                       hint="--summary prints the table of layers and runs nothing: leave --summary out to run "
                            "and draw the network")
        return echo_summary(summary.load_summary(options.source, options.max_spec_bytes, options.max_steps), options)
    grid = options.view == "grid"
    try:
        run = run_spec(options.source, view="layers" if grid else options.view or "layers",
                       max_steps=options.max_steps or MAX_STEPS,
                       draw=options.draw or DEFAULT_DRAW, max_numbers=options.max_numbers, max_work=options.max_work,
                       max_bytes=options.max_spec_bytes, json=options.json, expand=options.expand)
    except SummaryOnly as only:     # no [data], only input_shape: the summary is what it has
        return echo_summary(summary.summarise(only.doc, options.source), options)
    if grid:
        check_spec_grids(run)
    if options.json:
        echo_json(run.to_json())
    else:
        echo_lines(run.report_lines())
    found = run.diagnostics()
    for line in diagnostics.warning_lines(found):
        echo(line, err=True)
    if options.render or options.plots:
        echo_rendered(render_network(run, options), err=options.json)
    return NUMERIC_TROUBLE if any(d.kind in ("nan", "inf") for d in found) else OK


def echo_summary(summary, options: Options) -> int:
    """--summary (or a spec with input_shape and no [data]): the table of the layers, or its JSON."""
    from ..network.summary import document, lines
    if options.json:
        echo_json(report.dumps(document(summary)))
    else:
        echo_lines(lines(summary))
    return OK


def check_spec_grids(run) -> None:
    """--view grid on a spec: its layer view, with matrices as number grids and each conv or pool
    gate window by window; refused where no drawn pass has such a gate small enough to draw."""
    from ..explain.windows import windowed
    graphs = [p.graph for p in run.passes if p.drawn]
    if not any(windowed(g, n) for g in graphs for n in g.gates()):
        raise UserError("--view grid draws conv and pool layers as number grids, and this spec has none "
                        "small enough to draw",
                        hint="use --view layers or --view neurons; a formula such as "
                             '"sum(maxpool(conv2d(X, K)))" takes --view grid')


def neuron_view_gradients(network_pass, options: Options) -> dict | None:
    """The neuron view lists the parameters' gradients under the picture (its weights are edges,
    not nodes); the layer view lists its nodes'."""
    if options.view != "neurons" or not network_pass.gradients:
        return None
    return {name: g for name, g in network_pass.gradients.items() if name != "X"}


def render_network(run, options: Options):
    drawn = [p for p in run.passes if p.drawn] if options.render else []
    recipe = f"update: {run.optimizer.formula()} ({run.optimizer.constants()})" if run.optimizer else ""
    jobs = [("" if len(drawn) == 1 else f"step{p.number:03d}",
             report.scene(p.graph, p.steps, p.captions, label=f"{p.number} of {len(run.passes)}", recipe=recipe,
                          grid=options.view == "grid", parameters=neuron_view_gradients(p, options)))
            for p in drawn]
    render_options = replace(options.render_options, title=run.title or None)

    def plots(folder: Path) -> list:
        from ..network.plots import write_plots     # matplotlib only when plots are asked for
        return write_plots(run, folder / "plots") if options.plots else []
    return render_many(jobs, output_folder(options), render_options, plots)


def parse_formats(text: str) -> tuple:
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = sorted(set(formats) - {"svg", "png", "pdf"})
    if unknown:
        raise UserError(f"--format: unknown format {', '.join(unknown)}", hint="choose from svg, png, pdf")
    return formats


def output_folder(options: Options) -> Path:
    return Path(options.output) if options.output else Path("outputs") / folder_name(options.source)


def echo_rendered(rendered, err: bool = False) -> None:
    """`wrote outputs/x/: backprop.gif, frames/, graph.svg, …`: files and folders at the top
    (on stderr when stdout carries the JSON document)."""
    parts = [f.relative_to(rendered.folder).parts for f in rendered.files]
    names = sorted({p[0] + ("/" if len(p) > 1 else "") for p in parts})
    frames = f" ({rendered.frame_count} frames)" if rendered.frame_count else ""
    line = f"wrote {rendered.folder}/: {', '.join(names)}{frames}"
    echo(f"note: {line}" if err else f"\n{line}", err)


class OutputError(UserError):
    """Standard output cannot take what we print: a full disk, an encoding without ∂."""


class ClosedOutput(UserError):
    """The reader of our standard output went away (`nngraph … | head`): nothing to say, and the
    status of a process its SIGPIPE ends, as for any other signal (128 + 13)."""
    status = 141

    def lines(self) -> list[str]:
        return []


def echo(text: str, err: bool = False) -> None:
    """Every line nngraph prints goes through here: made terminal-safe (text from input cannot move
    the cursor, set a title or ring a bell); on stderr also cut to a readable length."""
    text = "\n".join(readable_line(line) for line in text.split("\n")) if err else terminal_lines(text)
    write(text, err)


def echo_json(text: str) -> None:
    """The JSON document; for a stdout that cannot encode all of it (an ASCII or Latin-1 locale),
    the same document with \\uXXXX escapes."""
    text = json_safe(text)
    if not text.isascii():
        try:
            text.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
        except UnicodeEncodeError:
            text = json_safe(text, ascii_only=True)
        except LookupError:
            pass
    write(text)


def write(text: str, err: bool = False) -> None:
    try:
        click.echo(text, err=err)
    except UnicodeEncodeError as exc:
        stream = sys.stderr if err else sys.stdout
        bad = exc.object[exc.start:exc.end] if isinstance(exc.object, str) else "?"
        raise OutputError(f"the {'error' if err else 'standard'} output's encoding "
                          f"({getattr(stream, 'encoding', None) or '?'}) cannot show {bad!r}",
                          hint="use UTF-8: set PYTHONIOENCODING=utf-8, or a UTF-8 locale such as "
                               "LANG=C.UTF-8 (--json works with any encoding)") from None
    except OSError as exc:
        quiet_stdout()
        if exc.errno == errno.EPIPE:
            raise ClosedOutput("the standard output was closed") from None
        raise OutputError(f"cannot write to the standard output: {exc.strerror or exc}",
                          hint="check the free space of the file or device it goes to") from None


def quiet_stdout() -> None:
    """After stdout failed, point it at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def echo_lines(lines) -> None:
    echo("\n".join(lines))


def echo_check(graph, options: Options) -> list:
    results = check_gradients(graph)
    echo("\ngradient check (central finite differences):")
    for r in results:
        verdict = "MISMATCH" if not r.relative_error <= options.tolerance else "ok at a kink" if r.kinks else "ok"
        sampled = f" ({r.checked} of {r.analytic.size:,} entries)" if r.checked < r.analytic.size else ""
        echo(f"  ∂/∂{r.variable}: analytic {fmt_value(r.analytic)}, numeric {fmt_value(r.numeric)}"
             f"{sampled}, relative error {r.relative_error:.2e}  {verdict}")
        for sentence in r.kinks[:KINK_LINES]:
            echo(f"    {sentence}")
    if any(r.kinks for r in results):
        for sentence in kinked_gates(graph)[:KINK_LINES]:
            echo(f"  {sentence}")
    worst = max((r.relative_error for r in results), default=0.0)
    at_kinks = "; at a kink, against the nearer one-sided derivative" if any(r.kinks for r in results) else ""
    echo(f"  max relative error {worst:.2e} (tolerance {options.tolerance:g}{at_kinks})")
    return [r for r in results if not r.relative_error <= options.tolerance]


def status_of(graph, failed_checks: list, options: Options) -> int:
    found = diagnostics.diagnostics(graph)
    for line in diagnostics.warning_lines(found):
        echo(line, err=True)
    numeric = any(d.kind in ("nan", "inf") for d in found)
    return NUMERIC_TROUBLE if failed_checks or numeric else OK


SHORT_OPTIONS = ("-o", "-h")


def protect_leading_minus(argv: list[str]) -> list[str]:
    """`nngraph "-x*2"`: an expression starting with a minus is not an option (a space keeps
    click from reading it as one; the parser ignores it). An option's value is left as it is
    (`-o -weird` writes `-weird`), and `-oDIR` is the output folder when SOURCE is given too."""
    roles = argument_roles(argv)

    def source_elsewhere(i: int) -> bool:
        return any(role in ("plain", "rest") or (role == "dashed" and not argv[j].startswith("-o"))
                   for j, role in enumerate(roles) if j != i)
    return [" " + arg if role == "dashed" and not (arg.startswith("-o") and source_elsewhere(i)) else arg
            for i, (arg, role) in enumerate(zip(argv, roles))]


def argument_roles(argv: list[str]) -> list[str]:
    """Each argument's role: "option", "value" (of the option before it), "dashed" (one leading
    minus: a formula, or -oDIR), "plain", "separator" (--) or "rest" (after it)."""
    takes_value = {name for p in command.params if isinstance(p, click.Option) and not p.is_flag
                   for name in (*p.opts, *p.secondary_opts)}
    roles, expect_value = [], False
    for i, arg in enumerate(argv):
        if expect_value:
            roles.append("value")
            expect_value = False
        elif arg == "--":
            return roles + ["separator"] + ["rest"] * (len(argv) - i - 1)
        elif arg in takes_value:
            roles.append("option")
            expect_value = True
        elif arg.startswith("--") or arg in SHORT_OPTIONS:
            roles.append("option")
        elif arg.startswith("-") and len(arg) > 1:
            roles.append("dashed")
        else:
            roles.append("plain")
    return roles


def main(argv=None, exiting: bool = False) -> int:
    """Entry point: every error a user can cause becomes one `error:` line and an exit status.
    exiting: the process ends when main returns (signals_as_exceptions)."""
    argv = protect_leading_minus(sys.argv[1:] if argv is None else list(argv))
    debug = "--debug" in (argv[:argv.index("--")] if "--" in argv else argv)   # not an expression "--debug"
    try:
        with signals_as_exceptions(exiting):   # SIGINT/TERM/HUP/QUIT: everything cleaned up, then 128 + n
            command.main(args=argv, prog_name="nngraph", standalone_mode=False)
        return OK
    except Interrupted as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        return exc.status
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else OK
    except UserError as exc:
        if debug:
            traceback.print_exc()
        if exc.lines():
            click.echo("\n".join(exc.lines()), err=True)
        return exc.status
    except click.exceptions.Abort:      # a KeyboardInterrupt raised some other way: as Ctrl-C
        click.echo("error: interrupted (SIGINT)", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(readable_line(f"error: {exc.format_message()}"), err=True)
        click.echo("hint: nngraph --help lists the options, with examples", err=True)
        return 2
    except Exception as exc:    # a bug of ours, not the user's: still no traceback unless asked
        if debug:
            traceback.print_exc()
        click.echo(readable_line(f"error: internal error (a bug in nngraph, please report it): "
                                 f"{type(exc).__name__}: {exc}"), err=True)
        return INTERNAL_ERROR


def entry_point() -> None:
    sys.exit(main(exiting=True))
