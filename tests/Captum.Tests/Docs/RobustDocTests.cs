using Captum.Attr;
using Captum.Forward;
using Captum.Robust;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Docs;

/// <summary>docs/robust.md's examples are this test's code, and they run.</summary>
public sealed class RobustDocTests
{
    [Fact]
    public void RobustDoc_Examples_RunAndAreTheTestedCode()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(71);
        var generator = new torch.Generator(72);
        var images = torch.rand(8, 4, generator: generator);
        var moreImages = torch.rand(6, 4, generator: generator);
        long[] labels;
        long[] moreLabels;
        using (torch.no_grad())
        {
            labels = model.call(images).argmax(1).data<long>().ToArray();
            moreLabels = model.call(moreImages).argmax(1).data<long>().ToArray();
        }

        var batches = new[] { (images, labels), (moreImages, moreLabels) };
        var image = images[..1];
        var label = labels[0];

        // FGSM: one signed gradient step of size epsilon, kept in the images' range [0, 1].
        var fgsm = new FGSM(model, AttackLosses.CrossEntropy, lowerBound: 0, upperBound: 1);
        using var adversarial = fgsm.Perturb(images, new FGSMOptions { Epsilon = 0.05, Target = labels });

        // PGD: ten smaller steps, each projected back into the L-infinity ball of radius 0.05 around the images.
        var pgd = new PGD(model, AttackLosses.CrossEntropy, lowerBound: 0, upperBound: 1);
        using var stronger = pgd.Perturb(images, new PGDOptions { Radius = 0.05, StepSize = 0.01, StepNum = 10, Target = labels });

        Assert.True((adversarial.Perturbed - images).abs().max().item<float>() <= 0.05 + 1e-6);
        Assert.True((stronger.Perturbed - images).abs().max().item<float>() <= 0.05 + 1e-6);

        // The metric: 1 where the model is right, per example; AttackComparator averages it.
        static Tensor Accuracy(Tensor output, long[] y) => (output.argmax(1) == torch.tensor(y)).to_type(ScalarType.Float32);

        using var comparator = new AttackComparator<long[]>(model, (output, y) => Accuracy(output, y));
        comparator.AddAttack(fgsm, new FGSMOptions { Epsilon = 0.05 }, "FGSM 0.05", withArguments: (o, y) => o with { Target = y });
        comparator.AddAttack(x => x + (0.1 * torch.randn_like(x)), "Noise", numAttempts: 5);

        foreach (var (x, y) in batches)
        {
            using var batch = comparator.Evaluate(x, y);   // batch["Noise"].Min!.Value: the worst of 5 draws, per example
        }

        using var summary = comparator.Summary();
        // summary["Original"].Mean.Value: the accuracy on the clean images, averaged over the batches;
        // summary["FGSM 0.05"].Mean.Value: under FGSM; summary["Noise"].Min!.Value: under the worst noise draw.

        Assert.Equal(["Original", "FGSM 0.05", "Noise"], summary.Keys);
        Assert.Equal(1f, summary.Original.Mean.Value.item<float>());
        Assert.True(summary["FGSM 0.05"].Mean.Value.item<float>() <= 1f);
        Assert.True(summary["Noise"].Min!.Value.item<float>() <= summary["Noise"].Max!.Value.item<float>());

        // Do the attributions survive the attacks? The forward function returns each image's saliency map (the labels
        // travel as an additional forward argument, which the comparator repeats for perturbations sharing a pass), and
        // the metric is the map's cosine similarity with the clean image's map.
        var saliency = new Saliency(model);
        var explain = (ForwardFunction)((Func<Tensor, Tensor, Tensor>)((x, y) => saliency.Attribute(x, new SaliencyOptions { Target = y }).Attribution));
        using var clean = saliency.Attribute(images, new SaliencyOptions { Target = labels });

        using var survival = new AttackComparator<Tensor>(explain, (map, cleanMap) => torch.nn.functional.cosine_similarity(map, cleanMap, 1));
        survival.AddAttack(fgsm, new FGSMOptions { Epsilon = 0.05, Target = labels }, "FGSM 0.05");
        survival.AddAttack(x => x + (0.05 * torch.randn_like(x)), "Noise", numAttempts: 4);
        using var kept = survival.Evaluate(images, clean.Attribution, new AttackEvaluationOptions
        {
            AdditionalForwardArgs = [torch.tensor(labels)],
            PerturbationsPerEval = 5,   // the original and the 5 perturbed batches in 2 passes of the attribution
        });
        // kept["FGSM 0.05"].Mean.Value[i]: how much of image i's saliency map survives FGSM (1: unchanged);
        // kept["Noise"].Min!.Value[i]: under the worst of 4 noise draws.

        Assert.Equal(["Original", "FGSM 0.05", "Noise"], kept.Keys);
        TensorAssert.AllClose(kept.Original.Mean.Value, torch.ones(8), 1e-6, 0);
        using (var attacked = fgsm.Perturb(images, new FGSMOptions { Epsilon = 0.05, Target = labels }))
        using (var attackedMap = saliency.Attribute(attacked.Perturbed, new SaliencyOptions { Target = labels }))
        {
            TensorAssert.AllClose(kept["FGSM 0.05"].Mean.Value, torch.nn.functional.cosine_similarity(attackedMap.Attribution, clean.Attribution, 1), 1e-6, 1e-6);
        }

        Assert.True(kept["Noise"].Min!.Value.le(kept["Noise"].Max!.Value).all().item<bool>());

        // The smallest epsilon (to 0.01) at which FGSM changes the model's answer for one image, by binary search.
        var search = new MinParamPerturbation<FGSMOptions>(
            model,
            fgsm,
            (o, eps) => o with { Epsilon = eps },
            new MinParamPerturbationOptions { ArgMin = 0, ArgMax = 1, ArgStep = 0.01, Mode = MinParamPerturbationMode.Binary });
        using var smallest = search.Evaluate(image, new FGSMOptions { Epsilon = 0, Target = label }, target: label);
        // smallest.ParamValue: that epsilon, or null when none up to ArgMax does; smallest.PerturbedInputs: the image there.

        Assert.True(smallest.Found);
        using (torch.no_grad())
        {
            Assert.NotEqual(label, model.call(smallest.PerturbedInputs!.Perturbed).argmax(1).item<long>());
        }

        DocExamples.AreTestedCode("robust.md", Path.Combine("Docs", "RobustDocTests.cs"), 4);
    }
}
