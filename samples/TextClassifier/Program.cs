using Captum.Samples.TextClassifier;

// dotnet run [-- REPORT.html]: trains the sentiment model on generated reviews, explains eight new ones, writes the report.
var reportPath = args.Length > 0 ? args[0] : "text-classifier.html";
TextClassifierSample.Run(reportPath, Console.Out);
