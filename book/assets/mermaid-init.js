// Renders every ```mermaid block of the page (turned into
// <pre class="mermaid" data-diagram="..."> by `cargo xtask book`) to an SVG,
// with the vendored mermaid.min.js.
//
// mdBook puts the current theme as a class on <html>; mermaid has no live theme
// switch, so when the reader moves between a light and a dark theme we reload
// the page and the diagrams are drawn again in matching colours.
(() => {
    const darkThemes = ['ayu', 'navy', 'coal'];
    const isDark = () =>
        darkThemes.some((theme) => document.documentElement.classList.contains(theme));
    const startedDark = isDark();

    mermaid.initialize({
        startOnLoad: false,
        theme: startedDark ? 'dark' : 'default',
        // Diagrams come from the repository, but there is no reason to let
        // them run scripts or open links.
        securityLevel: 'strict',
    });

    // One run per diagram, so that a diagram that does not parse stops only
    // itself. It is a bug in the book: say which one in the console (the
    // browser test fails on console errors), mark it for the test, and leave
    // its source visible instead of a blank space.
    document.querySelectorAll('pre.mermaid').forEach((diagram, index) => {
        // `cargo xtask book` keeps the source in an attribute, out of the
        // search index (xtask/src/book/mermaid.rs); mermaid reads the text.
        if (diagram.dataset.diagram !== undefined) {
            diagram.textContent = diagram.dataset.diagram;
            delete diagram.dataset.diagram;
        }
        mermaid.run({ nodes: [diagram] }).catch((error) => {
            const reason = (error && (error.message || error.str)) || String(error);
            diagram.dataset.mermaidError = reason;
            console.error(`mermaid: diagram ${index + 1} of this page does not render: ${reason}`);
        });
    });

    const themeList = document.getElementById('mdbook-theme-list');
    if (themeList) {
        themeList.addEventListener('click', () => {
            // mdBook changes the class after its own click handler runs.
            setTimeout(() => {
                if (isDark() !== startedDark) {
                    window.location.reload();
                }
            }, 0);
        });
    }
})();
