"""Captum 0.8.0's NaiveInfluenceFunction answers, as golden cases in the schema of
../shared/golden/captum-0.8.0-modules (see its README), for tests/Captum.Tests/Influence.

Opt-in, never run by the tests: it needs Debian's PyTorch (/usr/bin/python3 with python3-torch) and
Captum's source, as ../shared/bench/captum/README.md describes:

    mkdir -p out/captum-src && tar -xzf ../shared/reference/captum-0.8.0-src.tar.gz -C out/captum-src
    CAPTUM_SRC=out/captum-src /usr/bin/python3 scripts/golden/influence_function.py

The model, data and checkpoint are those of the shared TracInCP case tracincp_mlp_scores.json (its last
checkpoint), so both sides start from the same numbers; the cases are written to
tests/Captum.Tests/Fixtures/golden/captum-0.8.0-influence/.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.environ.get("CAPTUM_SRC", "out/captum-src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import captum  # noqa: E402
from captum.influence import NaiveInfluenceFunction  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "..", "shared", "golden", "captum-0.8.0-modules", "tracincp_mlp_scores.json")
OUT = os.path.join(ROOT, "tests", "Captum.Tests", "Fixtures", "golden", "captum-0.8.0-influence")


def read(t):
    return torch.tensor(t["data"], dtype=getattr(torch, t["dtype"])).reshape(t["shape"])


def write(t):
    t = t.detach().cpu()
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "data": t.reshape(-1).tolist()}


class Mlp(nn.Module):
    def __init__(self, sizes, activation):
        super().__init__()
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append({"tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[activation])
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def main():
    source = json.load(open(SOURCE))
    config = source["model"]["config"]
    state = {k: read(v) for k, v in source["model"]["checkpoints"][-1].items()}
    train = (read(source["train"]["inputs"]), read(source["train"]["labels"]))
    test = (read(source["test"]["inputs"]), read(source["test"]["labels"]))
    # A Hessian set apart from the training set: the first six training examples, and two of the test ones.
    hessian = (torch.cat([train[0][:6], test[0][:2]]), torch.cat([train[1][:6], test[1][:2]]))
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp()
    checkpoint = os.path.join(folder, "checkpoint.pt")
    torch.save(state, checkpoint)

    cases = [
        ("scores", {}, {"k": None}),
        ("last_layer_scores", {"layers": ["net.2"]}, {"k": None}),
        ("projection_5_scores", {"projection_dim": 5}, {"k": None}),
        ("regularized_scores", {"hessian_reg": 0.1, "hessian_inverse_tol": 0.01}, {"k": None}),
        ("hessian_set_scores", {"hessian": True, "batch_size": 3}, {"k": None}),
        ("top3_proponents", {}, {"k": 3, "proponents": True}),
        ("top2_opponents", {"layers": ["net.2"]}, {"k": 2, "proponents": False}),
        ("self_influence", {}, {"self_influence": True}),
        ("test_self_influence", {"projection_dim": 20}, {"self_influence": True, "of_test": True}),
        ("intermediate_quantities", {"projection_dim": 10}, {"intermediate_quantities": True}),
    ]
    for name, constructor, call in cases:
        batch_size = constructor.get("batch_size", 4)
        model = Mlp(config["sizes"], config["activation"])
        model.load_state_dict(state)
        loader = DataLoader(TensorDataset(*train), batch_size=batch_size, shuffle=False)
        hessian_loader = DataLoader(TensorDataset(*hessian), batch_size=batch_size, shuffle=False) if constructor.get("hessian") else None
        kwargs = {k: constructor[k] for k in ("layers", "projection_dim", "hessian_reg", "hessian_inverse_tol") if k in constructor}
        method = NaiveInfluenceFunction(
            model, loader, checkpoint, loss_fn=nn.CrossEntropyLoss(reduction="none"),
            hessian_dataset=hessian_loader, **kwargs)
        if call.get("self_influence"):
            data = test if call.get("of_test") else None
            expected = {"self_influence": write(method.self_influence(data))}
        elif call.get("intermediate_quantities"):
            expected = {"intermediate_quantities": write(method.compute_intermediate_quantities(test))}
        elif call["k"] is None:
            expected = {"scores": write(method.influence(test))}
        else:
            indices, scores = method.influence(test, k=call["k"], proponents=call["proponents"])
            expected = {"indices": write(indices), "scores": write(scores)}

        case = {
            "name": "naive_influence_mlp_" + name,
            "captum_version": captum.__version__,
            "torch_version": torch.__version__,
            "model": {"kind": "mlp", "config": config, "checkpoints": [{k: write(v) for k, v in state.items()}]},
            "method": "NaiveInfluenceFunction",
            "constructor": {
                "loss": "cross_entropy_none",
                "batch_size": batch_size,
                "layers": constructor.get("layers"),
                "projection_dim": constructor.get("projection_dim", 50),
                "seed": 42,
                "hessian_reg": constructor.get("hessian_reg", 1e-6),
                "hessian_inverse_tol": constructor.get("hessian_inverse_tol", 1e-5),
            },
            "train": {"inputs": write(train[0]), "labels": write(train[1])},
            "test": {"inputs": write(test[0]), "labels": write(test[1])},
            "call": call,
            "expected": expected,
            "note": "the model, data and checkpoint of tracincp_mlp_scores.json (its last checkpoint); "
                    "Hessian of the summed loss over the Hessian set (the training set unless \"hessian\" is given)",
        }
        if constructor.get("hessian"):
            case["hessian"] = {"inputs": write(hessian[0]), "labels": write(hessian[1])}
        with open(os.path.join(OUT, "naive_influence_mlp_" + name + ".json"), "w") as f:
            json.dump(case, f, indent=1)
        print(name, "written")


if __name__ == "__main__":
    main()
