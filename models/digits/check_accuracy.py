"""Top-1 accuracy of saved digits-classifier outputs against the test labels.

OUTPUTS is either a folder written by `lowp run --save-outputs DIR` (the logits are read from DIR/logits.npy,
or DIR/<--output>.npy) or an .npy file of logits, float [N, 10]. The labels are int [N], in the same order
(default: test_labels.npy beside this script).

With --reference (another folder or .npy of logits for the same inputs, e.g. the FP32 run) it also prints how
often the two agree on the top-1 class and the accuracy difference; --max-drop bounds that difference.

Exit status: 0 when every threshold given holds, 1 when one does not, 2 on unreadable or mismatched input.

usage: /usr/bin/python3 models/digits/check_accuracy.py OUTPUTS [--labels FILE] [--min-accuracy 0.97]
                                                         [--reference OUTPUTS --max-drop 0.005]
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def fail_input(message):
    print(f"check_accuracy: error: {message}", file=sys.stderr)
    sys.exit(2)


def load_array(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        fail_input(f"cannot read {path}: {e}")


def load_logits(path, output_name):
    """Logits [N, C] from an .npy file or from <output_name>.npy inside a lowp --save-outputs folder."""
    if os.path.isdir(path):
        path = os.path.join(path, output_name + ".npy")
        if not os.path.isfile(path):
            fail_input(f"{path} not found (is {os.path.dirname(path)} a `lowp run --save-outputs` folder of "
                       f"a model whose output is named '{output_name}'?)")
    logits = load_array(path)
    if logits.ndim != 2 or not np.issubdtype(logits.dtype, np.floating):
        fail_input(f"{path}: expected float logits of shape [N, classes], "
                   f"got {logits.dtype} {list(logits.shape)}")
    if not np.all(np.isfinite(logits)):
        fail_input(f"{path}: {np.count_nonzero(~np.isfinite(logits))} logits are NaN or infinite")
    return path, logits


def fraction(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1] (write 0.97 for 97%)")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outputs", help="lowp --save-outputs folder, or .npy of logits [N, 10]")
    parser.add_argument("--labels", default=os.path.join(HERE, "test_labels.npy"), help="int labels [N]")
    parser.add_argument("--output", default="logits",
                        help="output name to read from a folder (default logits)")
    parser.add_argument("--min-accuracy", type=fraction,
                        help="fail when top-1 accuracy is below this fraction")
    parser.add_argument("--reference", help="logits of a reference run (folder or .npy) to compare against")
    parser.add_argument("--max-drop", type=fraction,
                        help="with --reference: fail when the accuracy is below the reference's by more")
    args = parser.parse_args()
    if args.max_drop is not None and args.reference is None:
        parser.error("--max-drop needs --reference")

    path, logits = load_logits(args.outputs, args.output)
    labels = load_array(args.labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        fail_input(f"{args.labels}: expected integer labels of shape [N], "
                   f"got {labels.dtype} {list(labels.shape)}")
    if len(labels) != len(logits):
        fail_input(f"{path} has {len(logits)} rows but {args.labels} has {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        fail_input(f"{args.labels}: labels outside [0, {logits.shape[1]}) for {logits.shape[1]} classes")

    predicted = logits.argmax(axis=1)
    correct = int(np.count_nonzero(predicted == labels))
    acc = correct / len(labels)
    print(f"top-1 accuracy: {acc:.4f} ({correct}/{len(labels)}) of {path}")
    ok = True
    if args.min_accuracy is not None and acc < args.min_accuracy:
        print(f"check_accuracy: FAIL: accuracy {acc:.4f} is below --min-accuracy {args.min_accuracy}")
        ok = False

    if args.reference is not None:
        ref_path, ref_logits = load_logits(args.reference, args.output)
        if ref_logits.shape != logits.shape:
            fail_input(f"{ref_path} has shape {list(ref_logits.shape)}, {path} has {list(logits.shape)}")
        ref_predicted = ref_logits.argmax(axis=1)
        ref_acc = np.count_nonzero(ref_predicted == labels) / len(labels)
        agree = int(np.count_nonzero(ref_predicted == predicted))
        drop = ref_acc - acc
        print(f"reference top-1 accuracy: {ref_acc:.4f} of {ref_path}; "
              f"top-1 agreement {agree / len(labels):.4f} ({agree}/{len(labels)}); accuracy drop {drop:+.4f}")
        if args.max_drop is not None and drop > args.max_drop:
            print(f"check_accuracy: FAIL: accuracy drop {drop:.4f} exceeds --max-drop {args.max_drop}")
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
