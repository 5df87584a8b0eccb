/* The walk of a TOTEM document's tree (`walk`, for transform/totem_reader.py) and of a plan de comptes'
 * tree (`plan`, for transform/totem_plans.py), in C: what the Python readers take, without a Python
 * object per element.
 *
 * It only reads a tree that lxml's hardened parser built and digor's checks accepted (no DTD, no
 * entity): it parses no bytes, changes nothing, and reaches libxml2's nodes through lxml's public
 * C API (the element's node; a proxy made by lxml's own factory; an attribute value by lxml's own
 * function whenever it is not one plain text node). Every loop is bounded, every pointer checked;
 * the walk goes down through element nodes only and back up by parent links, so depth costs no
 * stack. Whatever it does not read as the Python reader would (a line's amount given twice, an
 * attribute value it does not decode) it hands back as the element, for the Python reader.
 *
 * Built by `python -m transform.build_native` (the Makefile's install step) against the lxml and
 * libxml2 headers of the installed lxml; the module refuses to load under another lxml version.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>
#include "lxml-version.h"
#include "lxml/etree_api.h"

/* More nodes than any document within the parser's limits can hold: a walk past it is a bug. */
#define MAX_NODES 200000000L
#define MAX_FIELDS 32
#define MAX_NAMES 64
#define NAME_CACHE 512

enum { K_NONE = 0, K_SELECTED, K_SKIPPED, K_LINE, K_TEXT, K_AMOUNT, K_CARAC };

typedef struct {
    const char *names[MAX_NAMES];
    int kinds[MAX_NAMES];
    int index[MAX_NAMES];
    int count;
    /* element names seen, by pointer (libxml2 interns them in its dictionary): a few dozen */
    const xmlChar *cached[NAME_CACHE];
    int cached_kind[NAME_CACHE];
    int cached_index[NAME_CACHE];
} Names;

typedef struct {
    Names document; /* the names looked at in the document */
    Names children; /* the names of a line's children */
    PyObject *text_fields;   /* tuple of str */
    PyObject *amount_fields; /* tuple of str */
    Py_ssize_t n_text, n_amount;
    int cod_rd, op_budg, art_spe; /* positions in text_fields, -1 when absent */
    PyObject *amounts_read;  /* dict: amount text -> value, shared with the caller */
    PyObject *parse_amount;  /* callable(stripped text, field name) -> value */
    struct LxmlDocument *doc;
} Walk;

static PyTypeObject *element_type = NULL;
static PyObject *str_strip, *str_lower, *str_upper, *str_space, *str_empty, *str_zero, *str_true;

static int add_name(Names *names, const char *name, int kind, int index) {
    if (names->count >= MAX_NAMES) {
        PyErr_SetString(PyExc_ValueError, "too many element names for the walk");
        return -1;
    }
    names->names[names->count] = name;
    names->kinds[names->count] = kind;
    names->index[names->count] = index;
    names->count++;
    return 0;
}

/* The kind of an element name (and its field's position): the first entry of that name wins. */
static int kind_of(Names *names, const xmlChar *name, int *index) {
    size_t slot = ((size_t)name >> 4) % NAME_CACHE;
    for (int probe = 0; probe < 8; probe++) {
        size_t at = (slot + probe) % NAME_CACHE;
        if (names->cached[at] == name) {
            *index = names->cached_index[at];
            return names->cached_kind[at];
        }
        if (names->cached[at] == NULL) {
            int kind = K_NONE, found = -1;
            for (int i = 0; i < names->count; i++) {
                if (strcmp((const char *)name, names->names[i]) == 0) {
                    kind = names->kinds[i];
                    found = names->index[i];
                    break;
                }
            }
            names->cached[at] = name;
            names->cached_kind[at] = kind;
            names->cached_index[at] = found;
            *index = found;
            return kind;
        }
    }
    /* cache full around this slot (a document of endless names): compare without keeping it */
    for (int i = 0; i < names->count; i++) {
        if (strcmp((const char *)name, names->names[i]) == 0) {
            *index = names->index[i];
            return names->kinds[i];
        }
    }
    *index = -1;
    return K_NONE;
}

/* The attribute of that name without a namespace, as `element.get(name)` finds it (NULL: none). */
static xmlAttr *attribute(xmlNode *node, const char *name) {
    long guard = 0;
    for (xmlAttr *attr = node->properties; attr != NULL && guard < MAX_NODES; attr = attr->next, guard++) {
        if (attr->type == XML_ATTRIBUTE_NODE && attr->ns == NULL && attr->name != NULL &&
            strcmp((const char *)attr->name, name) == 0)
            return attr;
    }
    return NULL;
}

/* The value of an attribute as lxml reads it: one plain text node decoded here, anything else by
 * lxml's own function. A new reference; NULL with an exception set on failure. */
static PyObject *attribute_value(xmlNode *node, xmlAttr *attr) {
    xmlNode *text = attr->children;
    if (text == NULL)
        return Py_NewRef(str_empty);
    if (text->next == NULL && text->type == XML_TEXT_NODE && text->content != NULL)
        return PyUnicode_DecodeUTF8((const char *)text->content, (Py_ssize_t)strlen((const char *)text->content), NULL);
    return attributeValue(node, attr);
}

/* " ".join(text.split()), a plain ASCII code (letters and digits) taken as it is. */
static PyObject *collapsed(PyObject *text) {
    if (PyUnicode_IS_ASCII(text) && PyUnicode_GET_LENGTH(text) > 0) {
        const unsigned char *chars = PyUnicode_1BYTE_DATA(text);
        Py_ssize_t length = PyUnicode_GET_LENGTH(text), i = 0;
        while (i < length && ((chars[i] >= '0' && chars[i] <= '9') || (chars[i] >= 'A' && chars[i] <= 'Z') ||
                              (chars[i] >= 'a' && chars[i] <= 'z')))
            i++;
        if (i == length)
            return Py_NewRef(text);
    }
    PyObject *parts = PyUnicode_Split(text, NULL, -1);
    if (parts == NULL)
        return NULL;
    PyObject *joined = PyUnicode_Join(str_space, parts);
    Py_DECREF(parts);
    return joined;
}

/* What a LigneBudget child holds: the first text of each field, the last amount of each (NULL if
 * none; a second amount of a field makes the line the Python reader's), the last Section. */
typedef struct {
    xmlNode *text_node[MAX_FIELDS];
    xmlAttr *text_attr[MAX_FIELDS];
    int text_seen[MAX_FIELDS];
    xmlNode *amount_node[MAX_FIELDS];
    xmlAttr *amount_attr[MAX_FIELDS];
    int amount_seen[MAX_FIELDS];
    xmlNode *section_node;
    xmlAttr *section_attr;
    int section_seen;
} LineNodes;

/* 1: read, 0: the line goes to the Python reader, -1: error. */
static int gather(Walk *walk, xmlNode *line, LineNodes *found) {
    memset(found, 0, sizeof(*found));
    long guard = 0;
    for (xmlNode *child = line->children; child != NULL; child = child->next) {
        if (++guard > MAX_NODES) {
            PyErr_SetString(PyExc_RuntimeError, "a LigneBudget with more children than a parsed tree can hold");
            return -1;
        }
        if (child->type != XML_ELEMENT_NODE || child->name == NULL)
            continue;
        int index = -1, kind = kind_of(&walk->children, child->name, &index);
        if (kind == K_TEXT && index >= 0 && index < walk->n_text) {
            if (!found->text_seen[index]) {
                found->text_seen[index] = 1;
                found->text_node[index] = child;
                found->text_attr[index] = attribute(child, "V");
            }
        } else if (kind == K_AMOUNT && index >= 0 && index < walk->n_amount) {
            if (found->amount_seen[index])
                return 0; /* each occurrence is read in turn, and may be refused: the Python reader's */
            found->amount_seen[index] = 1;
            found->amount_node[index] = child;
            found->amount_attr[index] = attribute(child, "V");
        } else if (kind == K_CARAC) {
            xmlAttr *code = attribute(child, "Code");
            if (code == NULL)
                continue;
            PyObject *value = attribute_value(child, code);
            if (value == NULL)
                return -1;
            int is_section = PyUnicode_CompareWithASCIIString(value, "Section") == 0;
            Py_DECREF(value);
            if (is_section) {
                found->section_seen = 1;
                found->section_node = child;
                found->section_attr = attribute(child, "V");
            }
        }
    }
    return 1;
}

static PyObject *value_or_empty(xmlNode *node, xmlAttr *attr) {
    return attr == NULL ? Py_NewRef(str_empty) : attribute_value(node, attr);
}

static PyObject *amount(Walk *walk, PyObject *text, Py_ssize_t field) {
    PyObject *value = PyDict_GetItemWithError(walk->amounts_read, text);
    if (value != NULL)
        return Py_NewRef(value);
    if (PyErr_Occurred())
        return NULL;
    PyObject *stripped = PyObject_CallMethodNoArgs(text, str_strip);
    if (stripped == NULL)
        return NULL;
    if (PyUnicode_GET_LENGTH(stripped) == 0) {
        Py_DECREF(stripped);
        Py_RETURN_NONE;
    }
    value = PyObject_CallFunctionObjArgs(walk->parse_amount, stripped, PyTuple_GET_ITEM(walk->amount_fields, field), NULL);
    Py_DECREF(stripped);
    if (value == NULL)
        return NULL;
    if (value != Py_None && PyDict_SetItem(walk->amounts_read, text, value) < 0) {
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

/* The line as (parent, nature, cont_nat, fonction, cont_fon, operation, cod_rd, op_budg, typ_op_budg,
 * art_spe, lib_cpte, section, amounts), (parent,) when calculated, Py_None for the Python reader. */
static PyObject *read_line(Walk *walk, xmlNode *line, PyObject *parent) {
    xmlAttr *calculated = attribute(line, "calculated");
    if (calculated != NULL) {
        PyObject *value = attribute_value(line, calculated);
        if (value == NULL)
            return NULL;
        PyObject *stripped = PyObject_CallMethodNoArgs(value, str_strip);
        Py_DECREF(value);
        if (stripped == NULL)
            return NULL;
        PyObject *lowered = PyObject_CallMethodNoArgs(stripped, str_lower);
        Py_DECREF(stripped);
        if (lowered == NULL)
            return NULL;
        int is_true = PyUnicode_Compare(lowered, str_true) == 0;
        Py_DECREF(lowered);
        if (is_true)
            return PyTuple_Pack(1, parent);
    }
    LineNodes found;
    int gathered = gather(walk, line, &found);
    if (gathered <= 0)
        return gathered == 0 ? Py_NewRef(Py_None) : NULL;
    PyObject *texts[MAX_FIELDS] = {NULL};
    PyObject *result = NULL, *amounts = NULL, *section = NULL;
    for (Py_ssize_t i = 0; i < walk->n_text; i++) {
        if (!found.text_seen[i]) {
            /* as the Python reader's defaults: no CodRD is None, no OpBudg is "0", any other "" */
            texts[i] = Py_NewRef(i == walk->cod_rd ? Py_None : i == walk->op_budg ? str_zero : str_empty);
            continue;
        }
        PyObject *raw = value_or_empty(found.text_node[i], found.text_attr[i]);
        if (raw == NULL)
            goto done;
        texts[i] = collapsed(raw);
        Py_DECREF(raw);
        if (texts[i] == NULL)
            goto done;
        if (i == walk->art_spe) {
            PyObject *lowered = PyObject_CallMethodNoArgs(texts[i], str_lower);
            if (lowered == NULL)
                goto done;
            Py_SETREF(texts[i], lowered);
        }
    }
    section = Py_NewRef(str_empty);
    if (found.section_seen) {
        PyObject *raw = value_or_empty(found.section_node, found.section_attr);
        if (raw == NULL)
            goto done;
        PyObject *text = collapsed(raw);
        Py_DECREF(raw);
        if (text == NULL)
            goto done;
        PyObject *upper = PyObject_CallMethodNoArgs(text, str_upper);
        Py_DECREF(text);
        if (upper == NULL)
            goto done;
        if (PyUnicode_CompareWithASCIIString(upper, "I") == 0 || PyUnicode_CompareWithASCIIString(upper, "F") == 0)
            Py_SETREF(section, upper);
        else
            Py_DECREF(upper);
    }
    amounts = PyDict_New();
    if (amounts == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < walk->n_amount; i++) {
        PyObject *value;
        if (!found.amount_seen[i]) {
            value = Py_NewRef(Py_None);
        } else {
            PyObject *text = value_or_empty(found.amount_node[i], found.amount_attr[i]);
            if (text == NULL)
                goto done;
            value = amount(walk, text, i);
            Py_DECREF(text);
            if (value == NULL)
                goto done;
        }
        int failed = PyDict_SetItem(amounts, PyTuple_GET_ITEM(walk->amount_fields, i), value);
        Py_DECREF(value);
        if (failed < 0)
            goto done;
    }
    /* BudgetLine's order: nature, cont_nat, fonction, cont_fon, operation, cod_rd, op_budg,
     * typ_op_budg, art_spe, lib_cpte (the text fields given in that order), section, amounts */
    result = PyTuple_New(1 + walk->n_text + 2);
    if (result == NULL)
        goto done;
    PyTuple_SET_ITEM(result, 0, Py_NewRef(parent));
    for (Py_ssize_t i = 0; i < walk->n_text; i++) {
        PyTuple_SET_ITEM(result, 1 + i, texts[i]);
        texts[i] = NULL;
    }
    PyTuple_SET_ITEM(result, 1 + walk->n_text, section);
    section = NULL;
    PyTuple_SET_ITEM(result, 2 + walk->n_text, amounts);
    amounts = NULL;
done:
    for (Py_ssize_t i = 0; i < walk->n_text; i++)
        Py_XDECREF(texts[i]);
    Py_XDECREF(section);
    Py_XDECREF(amounts);
    return result;
}

static PyObject *proxy(Walk *walk, xmlNode *node) {
    if (node == NULL || node->type != XML_ELEMENT_NODE)
        Py_RETURN_NONE;
    return (PyObject *)elementFactory(walk->doc, node);
}

static int append_new(PyObject *list, PyObject *item) {
    if (item == NULL)
        return -1;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

static int names_of(Names *names, PyObject *sequence, int kind, const char *what) {
    if (!PyTuple_Check(sequence)) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple of str", what);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(sequence); i++) {
        PyObject *item = PyTuple_GET_ITEM(sequence, i);
        const char *name = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (name == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s must be a tuple of str", what);
            return -1;
        }
        if (add_name(names, name, kind, (int)i) < 0)
            return -1;
    }
    return 0;
}

static int position(PyObject *fields, const char *name) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++)
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(fields, i), name) == 0)
            return (int)i;
    return -1;
}

static PyObject *walk_lines(PyObject *module, PyObject *args) {
    PyObject *root, *line_name, *selected, *skipped, *carac_name;
    Walk walk;
    memset(&walk, 0, sizeof(walk));
    if (!PyArg_ParseTuple(args, "O!UO!O!O!O!UO!O:walk", element_type, &root, &line_name, &PyTuple_Type, &selected,
                          &PyTuple_Type, &skipped, &PyTuple_Type, &walk.text_fields, &PyTuple_Type,
                          &walk.amount_fields, &carac_name, &PyDict_Type, &walk.amounts_read, &walk.parse_amount))
        return NULL;
    walk.n_text = PyTuple_GET_SIZE(walk.text_fields);
    walk.n_amount = PyTuple_GET_SIZE(walk.amount_fields);
    if (walk.n_text > MAX_FIELDS || walk.n_amount > MAX_FIELDS) {
        PyErr_SetString(PyExc_ValueError, "too many line fields for the walk");
        return NULL;
    }
    const char *line_c = PyUnicode_AsUTF8(line_name), *carac_c = PyUnicode_AsUTF8(carac_name);
    if (line_c == NULL || carac_c == NULL)
        return NULL;
    /* a line is looked at first, then the skipped blocks, then the other selected names */
    if (add_name(&walk.document, line_c, K_LINE, 0) < 0 || names_of(&walk.document, skipped, K_SKIPPED, "skipped") < 0 ||
        names_of(&walk.document, selected, K_SELECTED, "selected") < 0)
        return NULL;
    /* a line's children have names of their own: a second table, looked up only for them */
    if (names_of(&walk.children, walk.text_fields, K_TEXT, "text fields") < 0 ||
        names_of(&walk.children, walk.amount_fields, K_AMOUNT, "amount fields") < 0 ||
        add_name(&walk.children, carac_c, K_CARAC, 0) < 0)
        return NULL;
    walk.cod_rd = position(walk.text_fields, "CodRD");
    walk.op_budg = position(walk.text_fields, "OpBudg");
    walk.art_spe = position(walk.text_fields, "ArtSpe");
    struct LxmlElement *element = (struct LxmlElement *)root;
    if (element->_c_node == NULL || element->_doc == NULL) {
        PyErr_SetString(PyExc_ValueError, "the element has no node");
        return NULL;
    }
    walk.doc = element->_doc;
    PyObject *items = PyList_New(0);
    if (items == NULL)
        return NULL;
    xmlNode *top = element->_c_node, *node = top;
    long visited = 0;
    while (node != NULL) {
        if (++visited > MAX_NODES) {
            PyErr_SetString(PyExc_RuntimeError, "a tree with more nodes than a parsed document can hold");
            goto fail;
        }
        int descend = 0;
        if (node->type == XML_ELEMENT_NODE && node->name != NULL) {
            int index = -1, kind = kind_of(&walk.document, node->name, &index);
            descend = kind != K_SKIPPED;
            if (kind == K_LINE) {
                PyObject *parent = proxy(&walk, node->parent);
                if (parent == NULL)
                    goto fail;
                PyObject *item = read_line(&walk, node, parent);
                Py_DECREF(parent);
                if (item == Py_None) {
                    Py_DECREF(item);
                    item = proxy(&walk, node);
                }
                if (append_new(items, item) < 0)
                    goto fail;
            } else if (kind == K_SKIPPED || kind == K_SELECTED) {
                if (append_new(items, proxy(&walk, node)) < 0)
                    goto fail;
            }
        }
        if (descend && node->children != NULL) {
            node = node->children;
            continue;
        }
        /* next in document order: a sibling, else the sibling of the nearest ancestor below the top */
        while (node != top && node->next == NULL) {
            node = node->parent;
            if (node == NULL) {
                PyErr_SetString(PyExc_RuntimeError, "a node without a parent inside the tree");
                goto fail;
            }
        }
        node = node == top ? NULL : node->next;
    }
    return items;
fail:
    Py_DECREF(items);
    return NULL;
}

/* ---- Plans de comptes: what transform/totem_plans.py's reader keeps, taken from the plan's tree. ---- */

/* A name without a namespace, as a parser target sees a plain tag. */
static int plain(xmlNode *node, const char *name) {
    return node->ns == NULL && node->name != NULL && strcmp((const char *)node->name, name) == 0;
}

/* An attribute's value, None when absent (a new reference; NULL on error). */
static PyObject *value_or_none(xmlNode *node, const char *name) {
    xmlAttr *attr = attribute(node, name);
    return attr == NULL ? Py_NewRef(Py_None) : attribute_value(node, attr);
}

/* text.strip(), a value with nothing to strip taken as it is. */
static PyObject *stripped(PyObject *text) {
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (PyUnicode_IS_ASCII(text) && length > 0) {
        const unsigned char *chars = PyUnicode_1BYTE_DATA(text);
        if (chars[0] > ' ' && chars[length - 1] > ' ')
            return Py_NewRef(text);
    }
    return PyObject_CallMethodNoArgs(text, str_strip);
}

typedef struct {
    PyObject *accounts, *chapters, *functions, *attributes;
    const char *wanted[MAX_FIELDS]; /* the attributes an account keeps, by position */
    Py_ssize_t n_wanted;
    int section; /* 0 outside, 1 in the root's first Nature child, 2 in its first Fonction child */
    int met;     /* the sections met (bits) */
    int in_chapters;
    /* attribute names seen (interned by libxml2: a dozen pointers) -> position in wanted, -2 Code, -1 none */
    const xmlChar *seen[MAX_NAMES];
    int seen_index[MAX_NAMES];
    int n_seen;
} Plan;

static int wanted_index(Plan *plan, const xmlChar *name) {
    for (int i = 0; i < plan->n_seen; i++)
        if (plan->seen[i] == name)
            return plan->seen_index[i];
    int found = strcmp((const char *)name, "Code") == 0 ? -2 : -1;
    for (Py_ssize_t i = 0; found == -1 && i < plan->n_wanted; i++)
        if (strcmp((const char *)name, plan->wanted[i]) == 0)
            found = (int)i;
    if (plan->n_seen < MAX_NAMES) {
        plan->seen[plan->n_seen] = name;
        plan->seen_index[plan->n_seen++] = found;
    }
    return found;
}

static int plan_account(Plan *plan, xmlNode *node) {
    /* one pass over the attributes (the first of a name, as a lookup by name finds it) */
    xmlAttr *code_attr = NULL, *found[MAX_FIELDS] = {NULL};
    long guard = 0;
    for (xmlAttr *attr = node->properties; attr != NULL && guard < MAX_NODES; attr = attr->next, guard++) {
        if (attr->type != XML_ATTRIBUTE_NODE || attr->ns != NULL || attr->name == NULL)
            continue;
        int index = wanted_index(plan, attr->name);
        if (index == -2 && code_attr == NULL)
            code_attr = attr;
        else if (index >= 0 && found[index] == NULL)
            found[index] = attr;
    }
    if (code_attr == NULL)
        return 0;
    PyObject *raw = attribute_value(node, code_attr);
    if (raw == NULL)
        return -1;
    PyObject *code = PyUnicode_GET_LENGTH(raw) ? stripped(raw) : Py_NewRef(raw);
    Py_DECREF(raw);
    if (code == NULL)
        return -1;
    int known = PyUnicode_GET_LENGTH(code) == 0 ? 1 : PyDict_Contains(plan->accounts, code);
    if (known != 0) {
        Py_DECREF(code);
        return known < 0 ? -1 : 0;
    }
    PyObject *values = PyTuple_New(plan->n_wanted);
    if (values == NULL) {
        Py_DECREF(code);
        return -1;
    }
    for (Py_ssize_t i = 0; i < plan->n_wanted; i++) {
        PyObject *value = found[i] == NULL ? Py_NewRef(Py_None) : attribute_value(node, found[i]);
        if (value == NULL) {
            Py_DECREF(values);
            Py_DECREF(code);
            return -1;
        }
        PyTuple_SET_ITEM(values, i, value);
    }
    int failed = PyDict_SetItem(plan->accounts, code, values);
    Py_DECREF(values);
    Py_DECREF(code);
    return failed;
}

static int plan_append(PyObject *list, xmlNode *node, const char *first, const char *second, const char *third,
                       PyObject *section) {
    PyObject *a = value_or_none(node, first), *b = a ? value_or_none(node, second) : NULL;
    PyObject *c = (b && third) ? value_or_none(node, third) : NULL;
    PyObject *item = NULL;
    if (a && b && (c || !third))
        item = section ? PyTuple_Pack(4, section, a, b, c) : PyTuple_Pack(2, a, b);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    return append_new(list, item);
}

/* What the reader's start(tag, attrib) does for an element at this depth. */
static int plan_start(Plan *plan, xmlNode *node, long depth, PyObject *nature, PyObject *fonction) {
    int section = plan->section;
    if (section == 1 && plain(node, "Compte"))
        return plan_account(plan, node);
    if (depth == 0)
        return 0;
    if (depth == 1) {
        int which = plain(node, "Nature") ? 1 : plain(node, "Fonction") ? 2 : 0;
        if (which && !(plan->met & which)) {
            plan->met |= which;
            plan->section = which;
        }
    } else if (!section) {
        return 0;
    } else if (depth == 2) {
        plan->in_chapters = plain(node, "Chapitres");
    } else if (depth == 3 && plain(node, "Chapitre") && plan->in_chapters) {
        if (plan_append(plan->chapters, node, "Code", "Libelle", "Section", section == 1 ? nature : fonction) < 0)
            return -1;
    }
    if (section == 2 && plain(node, "RefFonc"))
        return plan_append(plan->functions, node, "Code", "Libelle", NULL, NULL);
    return 0;
}

/* What the reader's end(tag) does once an element at this depth ends. */
static void plan_end(Plan *plan, long depth) {
    if (depth == 1)
        plan->section = 0;
    else if (depth == 2)
        plan->in_chapters = 0;
}

static PyObject *walk_plan(PyObject *module, PyObject *args) {
    PyObject *root, *nature, *fonction;
    Plan plan;
    memset(&plan, 0, sizeof(plan));
    if (!PyArg_ParseTuple(args, "O!O!UU:plan", element_type, &root, &PyTuple_Type, &plan.attributes, &nature,
                          &fonction))
        return NULL;
    plan.n_wanted = PyTuple_GET_SIZE(plan.attributes);
    if (plan.n_wanted > MAX_FIELDS) {
        PyErr_SetString(PyExc_ValueError, "too many account attributes for the walk");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < plan.n_wanted; i++) {
        PyObject *name = PyTuple_GET_ITEM(plan.attributes, i);
        plan.wanted[i] = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
        if (plan.wanted[i] == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "attribute names must be str");
            return NULL;
        }
    }
    xmlNode *top = ((struct LxmlElement *)root)->_c_node;
    if (top == NULL) {
        PyErr_SetString(PyExc_ValueError, "the element has no node");
        return NULL;
    }
    plan.accounts = PyDict_New();
    plan.chapters = PyList_New(0);
    plan.functions = PyList_New(0);
    if (plan.accounts == NULL || plan.chapters == NULL || plan.functions == NULL)
        goto fail;
    xmlNode *node = top;
    long depth = 0, visited = 0;
    if (top->type != XML_ELEMENT_NODE || plan_start(&plan, top, 0, nature, fonction) < 0)
        goto fail;
    while (1) {
        if (++visited > MAX_NODES) {
            PyErr_SetString(PyExc_RuntimeError, "a tree with more nodes than a parsed document can hold");
            goto fail;
        }
        if (node->type == XML_ELEMENT_NODE && node->children != NULL) {
            node = node->children;
            depth++;
            if (node->type == XML_ELEMENT_NODE && plan_start(&plan, node, depth, nature, fonction) < 0)
                goto fail;
            continue;
        }
        /* leave this node, then each ancestor whose last child it was, up to the next sibling */
        while (1) {
            if (node->type == XML_ELEMENT_NODE)
                plan_end(&plan, depth);
            if (node == top)
                return Py_BuildValue("(NNN)", plan.accounts, plan.chapters, plan.functions);
            if (node->next != NULL) {
                node = node->next;
                if (node->type == XML_ELEMENT_NODE && plan_start(&plan, node, depth, nature, fonction) < 0)
                    goto fail;
                break;
            }
            node = node->parent;
            depth--;
            if (node == NULL || depth < 0) {
                PyErr_SetString(PyExc_RuntimeError, "a node without a parent inside the tree");
                goto fail;
            }
        }
    }
fail:
    Py_XDECREF(plan.accounts);
    Py_XDECREF(plan.chapters);
    Py_XDECREF(plan.functions);
    return NULL;
}

static PyMethodDef methods[] = {
    {"walk", walk_lines, METH_VARARGS,
     "walk(root, line, selected, skipped, text_fields, amount_fields, carac, amounts_read, parse_amount) -> list: "
     "in document order, each selected element below root (skipped blocks not entered) and each line as a tuple "
     "(or as its element when the Python reader must read it)."},
    {"plan", walk_plan, METH_VARARGS,
     "plan(root, account_attributes, nature, fonction) -> (accounts, chapters, functions): what a plan de comptes' "
     "reader keeps, from its tree: each account's stripped code -> its attributes (the first of a code), each "
     "chapter as (section, Code, Libelle, Section) and each function as (Code, Libelle), in document order."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_totem_walk", NULL, -1, methods};

static int intern(PyObject **target, const char *text) {
    *target = PyUnicode_InternFromString(text);
    return *target == NULL ? -1 : 0;
}

PyMODINIT_FUNC PyInit__totem_walk(void) {
    PyObject *etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL)
        return NULL;
    /* the tree's layout is that of the headers built against: another lxml or libxml2 is refused */
    PyObject *version = PyObject_GetAttrString(etree, "__version__");
    PyObject *libxml = PyObject_GetAttrString(etree, "LIBXML_COMPILED_VERSION");
    PyObject *expected_libxml = Py_BuildValue("(iii)", LIBXML_VERSION / 10000, (LIBXML_VERSION / 100) % 100, LIBXML_VERSION % 100);
    int same = version != NULL && libxml != NULL && expected_libxml != NULL && PyUnicode_Check(version) &&
               PyUnicode_CompareWithASCIIString(version, LXML_VERSION_STRING) == 0 &&
               PyObject_RichCompareBool(libxml, expected_libxml, Py_EQ) == 1;
    Py_XDECREF(version);
    Py_XDECREF(libxml);
    Py_XDECREF(expected_libxml);
    if (!same) {
        Py_DECREF(etree);
        PyErr_Clear();
        PyErr_Format(PyExc_ImportError, "built for lxml %s with libxml2 %s, not the installed lxml", LXML_VERSION_STRING,
                     LIBXML_DOTTED_VERSION);
        return NULL;
    }
    element_type = (PyTypeObject *)PyObject_GetAttrString(etree, "_Element");
    Py_DECREF(etree);
    if (element_type == NULL || !PyType_Check(element_type)) {
        PyErr_SetString(PyExc_ImportError, "lxml.etree has no _Element type");
        return NULL;
    }
    if (import_lxml__etree() < 0)
        return NULL;
    if (intern(&str_strip, "strip") < 0 || intern(&str_lower, "lower") < 0 || intern(&str_upper, "upper") < 0 ||
        intern(&str_space, " ") < 0 || intern(&str_empty, "") < 0 ||
        intern(&str_zero, "0") < 0 || intern(&str_true, "true") < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddStringConstant(module, "LXML_VERSION", LXML_VERSION_STRING) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
