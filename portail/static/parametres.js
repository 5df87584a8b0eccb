// The settings page's live preview: the widget, in its iframe, with the theme and colours being
// chosen (as URL parameters); without JavaScript the preview shows the settings saved.
const form = document.getElementById("parametres");
const frame = document.getElementById("apercu");

function previewUrl() {
  const url = new URL(frame.dataset.base);
  url.searchParams.set("theme", form.elements.theme.value);
  if (form.elements.personnaliser.checked) {
    url.searchParams.set("couleur_principale", form.elements.primary_color.value);
    url.searchParams.set("couleur_fond", form.elements.background_color.value);
    url.searchParams.set("couleur_texte", form.elements.text_color.value);
  }
  return url.toString();
}

function refresh() {
  const next = previewUrl();
  if (frame.getAttribute("src") !== next) frame.setAttribute("src", next);
}

if (form && frame) {
  for (const name of ["theme", "personnaliser", "primary_color", "background_color", "text_color"]) {
    form.elements[name].addEventListener("input", refresh);
    form.elements[name].addEventListener("change", refresh);
  }
}
