using Microsoft.Playwright;

namespace Captum.Insights.Tests;

/// <summary>
/// An Insights server (see <see cref="InsightsFixture"/>) and Debian's chromium driven by Playwright. Playwright's own
/// browser download is impossible here, so the system browser is launched through <c>ExecutablePath</c>; the driver
/// comes with the Microsoft.Playwright package. A missing chromium fails the tests, saying to run scripts/setup.sh.
/// </summary>
public sealed class BrowserFixture : InsightsFixture
{
    /// <summary>Where Debian installs chromium.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"chromium is missing ({ChromiumPath}): the browser tests drive Debian's chromium. Run scripts/setup.sh, which installs it.");
        }

        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Timeout = 60_000,
            // The machine has no network: without these chromium keeps trying to reach its services.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public override async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
        await base.DisposeAsync();
    }

    /// <summary>A new page on the server's address, the examples listed.</summary>
    public async Task<IPage> OpenAsync()
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 820 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(Server.Url.ToString());
        await page.Locator("[data-testid=example]").First.WaitForAsync();
        return page;
    }
}
