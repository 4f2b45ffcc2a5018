namespace Captum.Plugins.Vqa.Commands;

/// <summary>The option names of <c>captum vqa</c> (without the dashes).</summary>
internal static class VqaOptionNames
{
    public const string Checkpoint = "checkpoint";
    public const string Resnet = "resnet";
    public const string Image = "image";
    public const string Question = "question";
    public const string Batch = "batch";
    public const string Out = "out";
    public const string ImageSize = "image-size";
    public const string CentralFraction = "central-fraction";
    public const string MaxImagePixels = "max-image-pixels";
    public const string Steps = "steps";
    public const string ResnetVariant = "resnet-variant";
    public const string Method = "method";
    public const string Json = "json";
    public const string InternalBatchSize = "internal-batch-size";
}
