// Follows a decision's publication without reloading the page; without JavaScript, the
// "Actualiser l'état" link does the same. Text only, never HTML.
const zone = document.getElementById("etat");
const id = zone?.dataset.operation;
const DONE_TEXT = "C'est fait : les fichiers publics, les widgets et data.gouv.fr suivent la décision.";

function show(state) {
  const p = document.createElement("p");
  if (state.etat === "termine") {
    p.className = "succes";
    p.textContent = DONE_TEXT;
  } else if (state.etat === "echec") {
    p.className = "alerte";
    p.textContent = state.message;
  } else {
    p.textContent = "Publication en cours : les fichiers publics, les widgets et data.gouv.fr sont mis à jour. " + state.message;
  }
  zone.replaceChildren(p);
  zone.dataset.etat = state.etat;
  if (state.fini) document.getElementById("actualiser")?.parentElement.remove();
}

async function poll() {
  try {
    const answer = await fetch(`/operations/${encodeURIComponent(id)}/etat`, {credentials: "same-origin", cache: "no-store"});
    if (answer.ok) {
      const state = await answer.json();
      show(state);
      if (state.fini) return;
    }
  } catch {
    // The link still works; try again later.
  }
  setTimeout(poll, 1500);
}

if (id) setTimeout(poll, 1000);
