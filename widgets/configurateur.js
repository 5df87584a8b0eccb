/* Embed configurator: builds the widget's URL and iframe code from a form, with a live preview. */
(function () {
  "use strict";
  const D = window.DigorActes;
  const $ = (id) => document.getElementById(id);
  let bodies = [];
  let previewTimer = null;

  function option(value, label) {
    const node = document.createElement("option");
    node.value = value;
    node.textContent = label;
    return node;
  }

  function checkboxes(container, group, entries) {
    container.replaceChildren(...entries.map((entry) => {
      const wrapper = document.createElement("div");
      wrapper.className = "option";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.id = `${group}-${entry.code}`;
      input.value = entry.code;
      input.dataset.groupe = group;
      const label = document.createElement("label");
      label.htmlFor = input.id;
      label.textContent = entry.libelle;
      wrapper.append(input, label);
      return wrapper;
    }));
  }

  function checked(group) {
    return [...document.querySelectorAll(`input[data-groupe="${group}"]:checked`)].map((box) => box.value);
  }

  function escapeAttribute(text) {
    return String(text).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function currentState() {
    const custom = $("personnaliser").checked;
    return {
      siren: $("siren").value.trim(),
      recherche: $("recherche").value.trim(),
      types: checked("type"),
      classifications: checked("matiere"),
      date_debut: $("date-debut").value,
      date_fin: $("date-fin").value,
      tri: $("tri").value,
      page: 1,
      acte: "",
      theme: $("theme").value,
      couleurs: custom
        ? { principale: $("couleur-principale").value, fond: $("couleur-fond").value, texte: $("couleur-texte").value }
        : {},
    };
  }

  function widgetUrl(state) {
    const url = new URL("actes.html", location.href);
    url.search = D.stateToParams(state).toString();
    return url.href;
  }

  function bodyName(siren) {
    const body = bodies.find((b) => b.siren === siren);
    return body ? body.nom : `SIREN ${siren}`;
  }

  function showContrast(state) {
    const box = $("contraste");
    if (!$("personnaliser").checked) {
      box.replaceChildren();
      box.classList.remove("refuse");
      return;
    }
    const resolved = D.resolveColours(state.theme, state.couleurs);
    const text = D.contrastRatio(state.couleurs.texte, state.couleurs.fond);
    const main = D.contrastRatio(state.couleurs.principale, state.couleurs.fond);
    const lines = [
      `Contraste texte / fond : ${D.formatRatio(text)}`,
      `Contraste couleur principale / fond : ${D.formatRatio(main)}`,
    ];
    if (resolved.refused) {
      lines.push("Contraste insuffisant (minimum 4,5:1) : le widget refusera ces couleurs et gardera celles du thème.");
    } else {
      lines.push("Contraste suffisant : ces couleurs restent lisibles.");
    }
    box.replaceChildren(...lines.map((line) => {
      const p = document.createElement("p");
      p.textContent = line;
      return p;
    }));
    box.classList.toggle("refuse", resolved.refused);
  }

  function update() {
    const state = currentState();
    const valid = /^\d{9}$/.test(state.siren);
    const url = widgetUrl(state);
    const height = Math.min(3000, Math.max(300, parseInt($("hauteur").value, 10) || 800));
    $("code").value = valid
      ? `<iframe src="${escapeAttribute(url)}" title="${escapeAttribute(`Actes publiés par ${bodyName(state.siren)}`)}" ` +
        `width="100%" height="${height}" style="border: 0; max-width: 100%;" loading="lazy" ` +
        'referrerpolicy="strict-origin-when-cross-origin"></iframe>'
      : "Indiquez un organisme (SIREN à 9 chiffres) pour obtenir le code.";
    $("copier").disabled = !valid;
    $("ouvrir").href = url;
    $("ouvrir").hidden = !valid;
    $("couleurs").hidden = !$("personnaliser").checked;
    showContrast(state);
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => {
      if (valid && $("apercu").getAttribute("src") !== url) $("apercu").setAttribute("src", url);
    }, 150);
    $("copie-statut").textContent = "";
    history.replaceState(null, "", "?" + D.stateToParams(state).toString());
  }

  async function copy() {
    const code = $("code").value;
    try {
      await navigator.clipboard.writeText(code);
    } catch (error) {
      $("code").select();
      document.execCommand("copy");
    }
    $("copie-statut").textContent = "Code copié : collez-le dans votre site.";
  }

  function restore(state) {
    $("siren").value = state.siren;
    $("organisme").value = bodies.some((b) => b.siren === state.siren) ? state.siren : "";
    $("recherche").value = state.recherche;
    $("date-debut").value = state.date_debut;
    $("date-fin").value = state.date_fin;
    $("tri").value = state.tri === "decision" ? "decision" : "";
    $("theme").value = D.themeName(state.theme) || "";
    for (const box of document.querySelectorAll('input[data-groupe="type"]')) box.checked = state.types.includes(box.value);
    for (const box of document.querySelectorAll('input[data-groupe="matiere"]')) box.checked = state.classifications.includes(box.value);
    const colours = state.couleurs;
    if (colours.principale || colours.fond || colours.texte) {
      $("personnaliser").checked = true;
      const theme = D.THEMES[D.themeName(state.theme) || "clair"];
      for (const role of ["principale", "fond", "texte"]) {
        $(`couleur-${role}`).value = D.parseColour(colours[role]) || theme[role];
      }
    }
  }

  async function init() {
    checkboxes($("types").querySelector(".options"), "type", D.TYPES);
    checkboxes($("matieres").querySelector(".options"), "matiere", D.MATIERES);
    $("theme").replaceChildren(option("", "celui de l'organisme (par défaut)"),
      ...Object.entries(D.THEMES).map(([key, theme]) => option(key, theme.nom)));
    const select = $("organisme");
    select.append(option("", "— choisir —"));
    try {
      const response = await fetch("actes-organismes.json", { cache: "no-cache" });
      if (response.ok) bodies = (await response.json()).organismes || [];
    } catch (error) {
      bodies = [];
    }
    for (const body of bodies) select.append(option(body.siren, `${body.nom} (${body.siren})`));
    const state = D.parseState(location.search);
    if (!state.siren && bodies.length) state.siren = bodies[0].siren;
    restore(state);
    select.addEventListener("change", () => {
      if (select.value) $("siren").value = select.value;
      update();
    });
    $("siren").addEventListener("input", () => {
      select.value = bodies.some((b) => b.siren === $("siren").value.trim()) ? $("siren").value.trim() : "";
      update();
    });
    $("theme").addEventListener("change", () => {
      const theme = D.THEMES[$("theme").value || "clair"];
      if (!$("personnaliser").checked) {
        for (const role of ["principale", "fond", "texte"]) $(`couleur-${role}`).value = theme[role];
      }
      update();
    });
    $("reglages").addEventListener("input", (event) => {
      if (!["organisme", "siren", "theme"].includes(event.target.id)) update();
    });
    $("reglages").addEventListener("submit", (event) => event.preventDefault());
    $("copier").addEventListener("click", copy);
    update();
    document.body.dataset.etat = "pret";
  }

  document.addEventListener("DOMContentLoaded", init);
})();
