using Captum.Attr;
using Captum.Plugins.TextGeneration.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Bench;

/// <summary>
/// The gpt2_llm_fa workload of ../shared/bench/captum/captum_bench.py: LLMAttribution over FeatureAblation on a GPT-2
/// (n_embd 256, 4 layers, 4 heads, 32 words, 128 positions, seeded random weights), a 48-word story prompt and an
/// 8-token target. With the key-value cache by default, without it under --no-cache (Captum runs without one there);
/// raw is the uncached floor: one teacher-forced pass per evaluated prompt. --smoke shrinks everything to check it runs;
/// --long is a larger model and prompt (n_embd 512, 6 layers, 8 heads, 256 positions, a 160-word prompt), where a
/// perturbed prompt's unchanged beginning is worth reading from the cache.
/// </summary>
internal static class Gpt2LlmFa
{
    // captum_bench's reference_models.VOCAB, in its order.
    private static readonly string[] Vocab =
    [
        "<unk>", "<s>", "<pad>", "john", "mary", "sam", "went", "to", "the", "kitchen", "garden", "office",
        "hallway", ".", "where", "is", "?", "picked", "up", "ball", "apple", "dropped", "a", "red", "blue",
        "green", "cat", "dog", "likes", "and", "in", "it",
    ];

    public static (Action Captum, Action Raw, int Passes, int Steps) Build(bool noCache, bool smoke, bool large = false)
    {
        var (width, layers, heads, words, target, positions) = smoke
            ? (16L, 1L, 2L, 12, "garden .", 128L)
            : large
                ? (512L, 6L, 8L, 160, "garden . mary went to the garden .", 256L)
                : (256L, 4L, 4L, 48, "garden . mary went to the garden .", 128L);
        torch.manual_seed(7);
        var model = new Gpt2LMHeadModel(new Gpt2Config(Vocab.Length, positions, width, Heads: heads, Layers: layers));
        model.eval();
        var tokenizer = new Words(Vocab);
        var story = "john went to the kitchen . mary went to the garden . sam picked up the ball . ";
        var prompt = string.Join(' ', (string.Concat(Enumerable.Repeat(story, large ? 10 : 3)).Trim() + " where is mary ?").Split(' ').Take(words));
        var input = new TextTokenInput(prompt, tokenizer, skipTokens: ["<s>"]);
        var fa = LLMAttribution.FeatureAblation(model, tokenizer);
        var options = new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = ["<s>"], UseCachedOutputs = !noCache };
        var answer = tokenizer.Encode(target).Skip(1).ToArray();
        var evaluations = 1 + input.FeatureCount;

        void Captum()
        {
            using var result = fa.Attribute(input, target, options);
        }

        void Raw()
        {
            using var noGrad = torch.no_grad();
            var ids = torch.tensor(input.Ids.ToArray()).unsqueeze(0);
            var teacher = torch.tensor(answer[..^1]).unsqueeze(0);
            var chosen = torch.tensor(answer).reshape(1, -1, 1);
            for (var e = 0; e < evaluations; e++)
            {
                using var scope = torch.NewDisposeScope();
                var perturbed = ids.clone();
                if (e > 0)
                {
                    perturbed[0, e] = torch.tensor(0L);
                }

                var logits = model.Logits(torch.cat([perturbed, teacher], 1)).narrow(1, ids.shape[1] - 1, answer.Length);
                _ = nn.functional.log_softmax(logits, 2).gather(2, chosen).sum().item<float>();
            }
        }

        return (Captum, Raw, evaluations, evaluations);
    }

    /// <summary>captum_bench's word-level tokenizer (reference_models.WordTokenizer): words split on spaces, &lt;s&gt; first.</summary>
    private sealed class Words(IReadOnlyList<string> vocab) : ITextTokenizer
    {
        private readonly Dictionary<string, long> ids = vocab.Select((w, i) => (w, (long)i)).ToDictionary(p => p.w, p => p.Item2, StringComparer.Ordinal);

        public IReadOnlyList<long> Encode(string text) =>
            [ids["<s>"], .. text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => ids.GetValueOrDefault(w, ids["<unk>"]))];

        public string Decode(IReadOnlyList<long> tokens) => string.Join(" ", tokens.Where(t => t != ids["<s>"]).Select(t => vocab[(int)t]));

        public IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> tokens) => tokens.Select(t => vocab[(int)t]).ToList();

        public IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens) => tokens.Select(t => ids.GetValueOrDefault(t, ids["<unk>"])).ToList();
    }
}
