using Captum.Samples.GettingStarted;
using TorchSharp;

using var scope = torch.NewDisposeScope();
using var result = GettingStartedExample.Run();
Console.WriteLine("Integrated Gradients on Captum's toy model, target 0, zero baseline, 50 Gauss-Legendre steps");
Console.WriteLine("IG Attributions: " + result.Attribution.ToString(TensorStringStyle.Numpy));
Console.WriteLine("Convergence Delta: " + result.Delta!.ToString(TensorStringStyle.Numpy));
