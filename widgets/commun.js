/* Shared by the widgets and their configurator: vocabulary, colours, URL state of the Actes
   widget, and the page helpers every widget uses (text-only elements, colours, CSV files). */
(function (global) {
  "use strict";

  // Types of acts as the URL names them (the codes of the regional widget they replace):
  // the six natures of the télétransmission, then the kinds sources send outside it.
  const TYPES = [
    { code: "1", libelle: "Délibérations" },
    { code: "2", libelle: "Actes réglementaires" },
    { code: "3", libelle: "Actes individuels" },
    { code: "4", libelle: "Contrats, conventions et avenants" },
    { code: "5", libelle: "Documents budgétaires et financiers" },
    { code: "6", libelle: "Autres actes" },
    { code: "71", libelle: "Listes des délibérations" },
    { code: "72", libelle: "Arrêtés temporaires" },
    { code: "73", libelle: "Procès-verbaux de séance" },
    { code: "74", libelle: "Arrêtés permanents" },
    { code: "7", libelle: "Autres actes non transmis en préfecture" },
  ];

  const MATIERES = [
    { code: "1", libelle: "Commande publique" },
    { code: "2", libelle: "Urbanisme" },
    { code: "3", libelle: "Domaine et patrimoine" },
    { code: "4", libelle: "Fonction publique" },
    { code: "5", libelle: "Institutions et vie politique" },
    { code: "6", libelle: "Libertés publiques et pouvoirs de police" },
    { code: "7", libelle: "Finances locales" },
    { code: "8", libelle: "Domaines de compétences par thèmes" },
    { code: "9", libelle: "Autres domaines de compétences" },
  ];

  // Every theme keeps at least 4.5:1 between text and background and between the main
  // colour (links, buttons, focus ring) and the background.
  const THEMES = {
    clair: { nom: "Clair", principale: "#005a9c", fond: "#ffffff", texte: "#1e1e1e" },
    sombre: { nom: "Sombre", principale: "#8ab4f8", fond: "#161a1d", texte: "#f1f3f4" },
    vert: { nom: "Vert", principale: "#1b6e20", fond: "#ffffff", texte: "#1b1b1b" },
    rouge: { nom: "Rouge", principale: "#b3261e", fond: "#ffffff", texte: "#1b1b1b" },
    violet: { nom: "Violet", principale: "#6a1b9a", fond: "#ffffff", texte: "#1b1b1b" },
    sable: { nom: "Sable", principale: "#7a4100", fond: "#fbf7ef", texte: "#2b2118" },
    "contraste-eleve": { nom: "Contraste élevé", principale: "#ffff00", fond: "#000000", texte: "#ffffff" },
  };
  const THEME_ALIASES = { default: "clair", defaut: "clair", dark: "sombre" };
  const MIN_CONTRAST = 4.5;
  const SORTS = ["publication", "decision", "pertinence"];
  const COLOUR_PARAMS = { principale: "couleur_principale", fond: "couleur_fond", texte: "couleur_texte" };
  const COLOUR_NAMES = { principale: "couleur principale", fond: "couleur de fond", texte: "couleur du texte" };

  function parseColour(value) {
    const match = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
    if (!match) return null;
    let hex = match[1].toLowerCase();
    if (hex.length === 3) hex = hex.split("").map((c) => c + c).join("");
    return "#" + hex;
  }

  function luminance(hex) {
    const channel = (i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  }

  function contrastRatio(a, b) {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  }

  function formatRatio(ratio) {
    return (Math.floor(ratio * 10) / 10).toLocaleString("fr-FR", { minimumFractionDigits: 1 }) + ":1";
  }

  function themeName(name) {
    const key = THEME_ALIASES[name] || name;
    return Object.prototype.hasOwnProperty.call(THEMES, key) ? key : null;
  }

  // What the colours of a page will be: the theme's, unless free colours are asked for
  // and keep the contrast; anything refused comes back with a French warning.
  function resolveColours(requestedTheme, requested) {
    const warnings = [];
    let theme = "clair";
    if (requestedTheme) {
      const known = themeName(requestedTheme);
      if (known) theme = known;
      else warnings.push(`Thème « ${requestedTheme} » inconnu : le thème clair est utilisé.`);
    }
    const base = THEMES[theme];
    const colours = { principale: base.principale, fond: base.fond, texte: base.texte };
    const asked = {};
    for (const role of Object.keys(COLOUR_PARAMS)) {
      const raw = requested && requested[role];
      if (!raw) continue;
      const colour = parseColour(raw);
      if (colour) asked[role] = colour;
      else warnings.push(`La ${COLOUR_NAMES[role]} « ${raw} » n'est pas une couleur (#rrggbb) : elle est ignorée.`);
    }
    const candidate = Object.assign({}, colours, asked);
    const checks = [
      ["texte", "fond", "le texte et le fond"],
      ["principale", "fond", "la couleur principale et le fond"],
    ];
    const failures = checks
      .map(([a, b, what]) => ({ what, ratio: contrastRatio(candidate[a], candidate[b]) }))
      .filter((check) => check.ratio < MIN_CONTRAST);
    if (Object.keys(asked).length && failures.length) {
      const detail = failures.map((f) => `entre ${f.what} ${formatRatio(f.ratio)}`).join(", ");
      warnings.push(
        `Couleurs refusées : contraste insuffisant (${detail} ; il faut au moins 4,5:1 pour rester lisible). ` +
          `Les couleurs du thème « ${base.nom} » sont utilisées.`
      );
      return { theme, colours, refused: true, warnings };
    }
    return { theme, colours: candidate, refused: false, warnings };
  }

  function list(value, allowed) {
    const codes = String(value || "").split(",").map((s) => s.trim()).filter(Boolean);
    return [...new Set(codes.filter((code) => allowed.includes(code)))];
  }

  function isoDate(value) {
    return /^\d{4}-\d{2}-\d{2}$/.test(value || "") && !isNaN(Date.parse(value)) ? value : "";
  }

  // The whole state of a widget page, read from its query string.
  function parseState(search) {
    const p = new URLSearchParams(search);
    const page = parseInt(p.get("page") || "1", 10);
    const state = {
      siren: (p.get("siren") || "").trim(),
      recherche: p.get("recherche") || "",
      types: list(p.get("types_actes"), TYPES.map((t) => t.code)),
      classifications: list(p.get("classifications"), MATIERES.map((m) => m.code)),
      date_debut: isoDate(p.get("date_debut")),
      date_fin: isoDate(p.get("date_fin")),
      tri: SORTS.includes(p.get("tri")) ? p.get("tri") : "",
      page: Number.isFinite(page) && page > 0 ? page : 1,
      acte: p.get("acte") || "",
      ...readAppearance(p),
    };
    return state;
  }

  function stateToParams(state) {
    const p = new URLSearchParams();
    if (state.siren) p.set("siren", state.siren);
    if (state.acte) p.set("acte", state.acte);
    if (state.recherche) p.set("recherche", state.recherche);
    if (state.types && state.types.length) p.set("types_actes", state.types.join(","));
    if (state.classifications && state.classifications.length) p.set("classifications", state.classifications.join(","));
    if (state.date_debut) p.set("date_debut", state.date_debut);
    if (state.date_fin) p.set("date_fin", state.date_fin);
    if (state.tri) p.set("tri", state.tri);
    if (state.page && state.page > 1) p.set("page", String(state.page));
    return writeAppearance(p, state);
  }

  // Theme and free colours: the URL parameters every widget shares.
  function readAppearance(p) {
    const couleurs = {};
    for (const [role, name] of Object.entries(COLOUR_PARAMS)) {
      if (p.get(name)) couleurs[role] = p.get(name);
    }
    return { theme: p.get("theme") || "", couleurs };
  }

  function writeAppearance(p, state) {
    if (state.theme) p.set("theme", state.theme);
    for (const [role, name] of Object.entries(COLOUR_PARAMS)) {
      if (state.couleurs && state.couleurs[role]) p.set(name, state.couleurs[role]);
    }
    return p;
  }

  async function fetchJson(url) {
    const response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    return response.json();
  }

  const MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
    "septembre", "octobre", "novembre", "décembre"];

  function frenchDate(iso) {
    if (!iso) return "";
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    return `${d === 1 ? "1er" : d} ${MONTHS[m - 1]} ${y}`;
  }

  // An element whose children are text nodes or elements: data never becomes HTML.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function hiddenText(text) {
    return el("span", { className: "visuellement-cache" }, text);
  }

  // The page's colours: the URL's theme or colours, else the body's widget settings of the
  // registry (``manifest.widget``), checked for contrast; returns what resolveColours says.
  function applyColours(theme, requestedColours, settings) {
    settings = settings || {};
    const requested = {
      principale: requestedColours.principale || (theme ? "" : settings.primary_color),
      fond: requestedColours.fond || (theme ? "" : settings.background_color),
      texte: requestedColours.texte || (theme ? "" : settings.text_color),
    };
    const resolved = resolveColours(theme || settings.theme || "", requested);
    const root = document.documentElement;
    for (const role of ["principale", "fond", "texte"]) root.style.setProperty(`--${role}`, resolved.colours[role]);
    root.dataset.theme = resolved.theme;
    root.dataset.couleursRefusees = resolved.refused ? "oui" : "non";
    return resolved;
  }

  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    // A cell starting like a formula would run in a spreadsheet: keep it as text.
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[";\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function download(blob, name) {
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  // A CSV file as spreadsheets in France open it: UTF-8 with BOM, ";" between cells.
  function downloadCsv(header, rows, name) {
    const text = "\ufeff" + [header, ...rows].map((row) => row.map(csvCell).join(";")).join("\r\n") + "\r\n";
    download(new Blob([text], { type: "text/csv;charset=utf-8" }), name);
  }

  global.DigorActes = {
    TYPES, MATIERES, THEMES, MIN_CONTRAST, COLOUR_PARAMS,
    parseColour, contrastRatio, formatRatio, resolveColours, themeName,
    parseState, stateToParams, readAppearance, writeAppearance, frenchDate, fetchJson,
    el, hiddenText, applyColours, csvCell, download, downloadCsv,
  };
})(window);
