"""Executes notebooks in order with nbclient; called by scripts/reproduce.ts.

Prints progress per notebook and per cell with elapsed time, stops at the first failing cell
(printing that cell's source and error), and writes executed copies (outputs included) to OUT_DIR.
The source notebooks are never modified.
"""
import argparse
import os
import sys
import json
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


class EchoingClient(NotebookClient):
    """Echoes the cells' text output (progress lines of long training runs) to the terminal as it arrives."""

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if msg.get("msg_type") == "stream":
            for line in content.get("text", "").splitlines():
                if line.strip():
                    print(f"      | {line[:160]}", flush=True)
        return super().output(outs, msg, display_id, cell_index)


def fmt(seconds):
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{seconds:.1f}s"


def first_line(src):
    for line in src.splitlines():
        if line.strip() and not line.strip().startswith("//"):
            return line.strip()[:70]
    return ""


def record_timing(out_dir, name, seconds):
    """Keeps each notebook's last wall time in <out>/timings.json (REPRODUCTION.md quotes it)."""
    path = os.path.join(out_dir, "timings.json")
    try:
        with open(path) as f:
            timings = json.load(f)
    except (OSError, ValueError):
        timings = {}
    timings[name] = {"seconds": round(seconds, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(dict(sorted(timings.items())), f, indent=2)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("--display-kernel", default="tslab", help="kernelspec name recorded in the executed copies")
    ap.add_argument("--echo", action="store_true", help="echo the cells' text output (progress) to the terminal")
    ap.add_argument("notebooks", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    total_start = time.time()
    for i, path in enumerate(args.notebooks, 1):
        name = os.path.splitext(os.path.basename(path))[0]
        nb = nbformat.read(path, as_version=4)
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        print(f"[{i}/{len(args.notebooks)}] {name}: {len(code_cells)} code cells", flush=True)
        start = time.time()
        state = {"n": 0, "t": start}
        code_number = {id(c): k for k, c in enumerate(code_cells, 1)}

        def on_start(cell, cell_index):
            state["n"] = code_number.get(id(cell), state["n"])
            state["t"] = time.time()

        def on_done(cell, cell_index, execute_reply=None):
            took = time.time() - state["t"]
            print(f"    cell {state['n']}/{len(code_cells)} {fmt(took):>7}  {first_line(cell.source)}", flush=True)

        client = (EchoingClient if args.echo else NotebookClient)(
            nb,
            kernel_name=args.kernel,
            timeout=args.timeout,
            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
            on_cell_start=on_start,
            on_cell_executed=on_done,
        )
        out_path = os.path.join(args.out, os.path.basename(path))
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
            nb.metadata["kernelspec"] = {"name": args.display_kernel, "display_name": "TypeScript", "language": "typescript"}
            nbformat.write(nb, out_path)
            failed = code_cells[state["n"] - 1] if 0 < state["n"] <= len(code_cells) else None
            print(f"\nFAILED: {name}, cell {state['n']} of {len(code_cells)}, after {fmt(time.time() - start)}", file=sys.stderr)
            if failed is not None:
                print("---- cell source ----", file=sys.stderr)
                print(failed.source, file=sys.stderr)
            print("---- error ----", file=sys.stderr)
            # tslab reports a thrown error on the cell's stderr stream, not in the reply, so show
            # the cell's own output tail as well.
            tail = []
            for o in (failed.get("outputs", []) if failed is not None else []):
                if o.get("output_type") == "stream":
                    tail.append(o.get("text", ""))
                elif o.get("output_type") == "error":
                    tail.append(f"{o.get('ename')}: {o.get('evalue')}")
            text = "".join(tail).strip()
            if text:
                print("\n".join(text.splitlines()[-40:]), file=sys.stderr)
            print(str(e).strip()[-2000:], file=sys.stderr)
            print(f"\nPartial executed copy: {out_path}", file=sys.stderr)
            return 1
        nb.metadata["kernelspec"] = {"name": args.display_kernel, "display_name": "TypeScript", "language": "typescript"}
        nbformat.write(nb, out_path)
        record_timing(args.out, name, time.time() - start)
        print(f"    done in {fmt(time.time() - start)} -> {out_path}", flush=True)
    print(f"all {len(args.notebooks)} notebook(s) done in {fmt(time.time() - total_start)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
