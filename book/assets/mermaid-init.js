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
        // A diagram that does not parse is reported below, beside its
        // source; without this, mermaid.render also leaves its own "Syntax
        // error" picture at the bottom of the page.
        suppressErrorRendering: true,
    });

    // An id of our own for each diagram's SVG, unique on the page. Not
    // mermaid's: `mermaid.run` names an SVG `mermaid-${Date.now()}`, so two
    // diagrams drawn in the same millisecond got the same id, and drawing the
    // second one removed the first (mermaid deletes any element that has the
    // id it is about to use) or drew it with the other's styles. The SVG's
    // styles are scoped by this id too (`#id .actor {...}`).
    const svgIdFor = (index) => {
        let id = `mermaid-diagram-${index + 1}`;
        while (document.getElementById(id)) {
            id += '-x';
        }
        return id;
    };

    // One diagram after the other, each with its own try: a diagram that
    // does not parse stops only itself. It is a bug in the book: say which one
    // in the console (the browser test fails on console errors), mark it for
    // the test, and leave its source visible instead of a blank space.
    const drawAll = async () => {
        const diagrams = [...document.querySelectorAll('pre.mermaid')];
        for (const [index, diagram] of diagrams.entries()) {
            // `cargo xtask book` keeps the source in an attribute, out of the
            // search index (xtask/src/book/mermaid.rs). Shown as text until
            // drawn, and if it cannot be.
            const source = diagram.dataset.diagram ?? diagram.textContent;
            delete diagram.dataset.diagram;
            diagram.textContent = source;
            try {
                const { svg, bindFunctions } = await mermaid.render(svgIdFor(index), source);
                diagram.innerHTML = svg;
                diagram.dataset.processed = 'true';
                if (bindFunctions) {
                    bindFunctions(diagram);
                }
            } catch (error) {
                const reason = (error && (error.message || error.str)) || String(error);
                diagram.dataset.mermaidError = reason;
                console.error(`mermaid: diagram ${index + 1} of this page does not render: ${reason}`);
            }
        }
    };
    drawAll();

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
