using Captum.Samples.ImageClassifier;

// dotnet run [-- REPORT.html]: trains the CNN on generated images, explains four test images, writes the report.
var reportPath = args.Length > 0 ? args[0] : "image-classifier.html";
ImageClassifierSample.Run(reportPath, Console.Out);
